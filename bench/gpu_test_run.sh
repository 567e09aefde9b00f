#!/usr/bin/env bash
# Steps 2 to 4 of "make test on the lent GPU machine" (bench/results/h200_tests/README.md), on
# that machine, from the checkout the device tool copied there. CALLS.md (written by step 1,
# bench/gpu_test_pack.sh) lists the calls; within one lease, each within 30 s of the last.
#
#   bash bench/gpu_test_run.sh stash   (one call per part, carrying it): keep it in /tmp/s2i
#   bash bench/gpu_test_run.sh setup   join the parts (checked against their manifest), install
#                                      the wheels, weights and Debian programs, check them
#   bash bench/gpu_test_run.sh test    `make test` without the browser tests, in a call of its
#                                      own; it ends with pytest's summary line, always: at the
#                                      DEADLINE (s) the tests not yet started are skipped as
#                                      "deadline", and no test runs past TEST_TIMEOUT (s)
set -uo pipefail
step=${1:?"say stash, setup or test"}
stash=/tmp/s2i/parts site=/tmp/site out=${OUT:-/tmp/s2i/out}
mkdir -p "$stash" "$out"

venv_shim() {  # `make test` runs .venv/bin/…: point them at the machine's python3 and our wheels
  rm -rf .venv && mkdir -p .venv/bin && ln -s "$(command -v python3)" .venv/bin/python
  for tool in pytest ruff; do
    if [ -x "$site/bin/$tool" ]; then ln -sf "$site/bin/$tool" ".venv/bin/$tool"
    else ln -sf "$(command -v "$tool")" ".venv/bin/$tool"; fi
  done
  touch -d '2030-01-01' .venv/.installed  # newer than the requirements: no `make install`
}

case $step in
stash)
  found=$(find .device -path '*/part-*/part-*' -type f 2>/dev/null)
  [ -n "$found" ] || { echo "error: this call carried no part (carry .device/h100/part-NNN)"; exit 2; }
  for part in $found; do cp "$part" "$(dirname "$part")/manifest.json" "$stash/"; done
  have=$(ls "$stash" | grep -c '^part-')
  echo "parts kept here: $have of $(python3 -c "import json; print(len(json.load(open('$stash/manifest.json'))['parts']))")"
  ;;
setup)
  set -e
  python3 -m bench.device_pack join "$stash" /tmp/s2i/pack.tar
  tar xf /tmp/s2i/pack.tar -C /tmp/s2i && rm /tmp/s2i/pack.tar
  # compiled on install, as pip does by default: pysbd's regexes otherwise warn on stderr at run
  # time under Python 3.12, and the tests that expect one line on stderr fail
  python3 -m pip install -q --no-index --no-deps --target "$site" /tmp/s2i/wheels/*.whl
  cp -r /tmp/s2i/site/. "$site/"
  mkdir -p /tmp/debroot && for deb in /tmp/s2i/debs/*.deb; do dpkg -x "$deb" /tmp/debroot; done
  cp -a --update=none /tmp/debroot/usr/. /usr/
  [ ! -d /tmp/debroot/lib ] || cp -a --update=none /tmp/debroot/lib/. /usr/lib/
  [ ! -d /tmp/debroot/etc ] || cp -a --update=none /tmp/debroot/etc/. /etc/
  ldconfig
  id postgres >/dev/null 2>&1 || useradd -r -M postgres
  set +e
  export PYTHONPATH=$site PATH=$site/bin:$PATH
  nvidia-smi --query-gpu=name,memory.total --format=csv,noheader; nproc
  python3 -c "import torch, ctranslate2, faster_whisper, streamlit, PIL, pytest; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), 'ctranslate2', ctranslate2.__version__, 'pillow', PIL.__version__, 'pytest', pytest.__version__)"
  for program in redis-server pdftoppm zbarimg espeak-ng /usr/lib/postgresql/*/bin/initdb \
                 /usr/lib/postgresql/*/bin/postgres /usr/lib/postgresql/*/bin/createdb; do
    path=$(command -v "$program") || { echo "MISSING: $program"; continue; }
    ldd "$path" | grep "not found" | sed "s|^|$program: |"
  done
  echo "setup done: run the test step next, within 30 s"
  ;;
test)
  venv_shim
  export PYTHONPATH=$site PATH=$site/bin:$PATH PYTHONUNBUFFERED=1
  spread=""
  python3 -c "import xdist" 2>/dev/null && spread="-n ${XDIST:-8}"
  export PYTEST_ADDOPTS="$spread --ignore=tests/e2e -q --deadline=${DEADLINE:-450} --timeout=${TEST_TIMEOUT:-120}"
  echo "PYTEST_ADDOPTS=$PYTEST_ADDOPTS"
  make test 2>&1 | tee "$out/make_test.log"
  ;;
*)
  echo "error: unknown step $step: stash, setup or test"; exit 2
  ;;
esac
