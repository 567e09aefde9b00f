#!/usr/bin/env bash
# On the lent CUDA machine, from the checkout the device tool copied there (see bench/gpu_pack.sh):
#   bash bench/gpu_run.sh --self-test   install the small wheels, run the random-weight check
#   bash bench/gpu_run.sh --stash       keep the part this call carried in /tmp/s2i/parts
#   bash bench/gpu_run.sh [ARGS]        join the parts (checked), install, run bench/gpu.py ARGS
#   S2I_BENCH=gpu_many bash bench/gpu_run.sh [ARGS]   the same, running bench/gpu_many.py ARGS
#   S2I_BENCH=gpu_live bash bench/gpu_run.sh          bench/gpu_live.py (packed with
#                                                     S2I_BENCH=gpu_live bench/gpu_pack.sh)
set -eo pipefail
dev=.device/gpu
if [ "${1:-}" = --stash ]; then
  mkdir -p /tmp/s2i/parts && cp "$dev"/part-*/* /tmp/s2i/parts/ && ls /tmp/s2i/parts; exit 0
fi
if [ ! -d /tmp/site/whisper ]; then
  python3 -m pip install -q --no-index --no-deps --target /tmp/site "$dev"/wheels/*.whl
fi
if [ "${1:-}" != --self-test ] && [ ! -d /tmp/s2i/base ]; then
  PYTHONPATH=$dev/code python3 -m bench.device_pack join /tmp/s2i/parts /tmp/s2i/model.tar
  tar xf /tmp/s2i/model.tar -C /tmp/s2i && rm /tmp/s2i/model.tar
  python3 -m pip install -q --no-index --no-deps --target /tmp/site /tmp/s2i/wheels/*.whl
fi
cd "$dev/code"
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1 S2I_ASR_ENGINE=auto \
  S2I_WHISPER_MODEL=/tmp/s2i/base S2I_DATA_DIR=/tmp/s2i/data
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
GPU_NAME=$(nvidia-smi --query-gpu=name --format=csv,noheader) \
  python3 -m "bench.${S2I_BENCH:-gpu}" "$OUT" "$@"  # S2I_BENCH=gpu_many: bench/gpu_many.py
