#!/usr/bin/env bash
# Step 0 of "make test on the lent GPU machine" (bench/results/h200_tests/README.md): what that
# machine has, so that the pack (step 1) carries only what it lacks. One device call, no carry:
#   bash bench/gpu_test_probe.sh
# It returns piplist.txt (`pip list` of the python3 that holds torch), libs.txt (`ldconfig -p`:
# the libraries its loader finds), commands.txt (the test programs it has) and machine.txt.
# Copy them here into bench/gpu_machine/ and commit them: that is the recorded copy step 1 reads.
set -u
out=${OUT:-$PWD}
python3 -m pip list --format=freeze --disable-pip-version-check > "$out/piplist.txt"
ldconfig -p > "$out/libs.txt"
for program in redis-server pdftoppm zbarimg espeak-ng initdb postgres pg_ctl createdb; do
  command -v "$program" >/dev/null || ls /usr/lib/postgresql/*/bin/"$program" >/dev/null 2>&1 &&
    echo "$program"
done > "$out/commands.txt"
{
  date -u +"probed %Y-%m-%d %H:%M UTC"
  (. /etc/os-release && echo "$PRETTY_NAME")
  python3 --version
  echo "$(nproc) cores"
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
} > "$out/machine.txt" 2>&1
wc -l "$out"/piplist.txt "$out"/libs.txt "$out"/commands.txt
cat "$out/machine.txt"
