#!/usr/bin/env bash
# On the lent CUDA machine: put together the chunks bench/gpu_test_pack.sh made (wheels for Python
# 3.12, the Whisper weights, Debian's redis/postgresql/poppler/zbar/espeak/FriBiDi and their
# libraries), then run `make test` as the README does; xdist spreads it over the 16 cores. No
# Chromium there, so tests/e2e cannot run. CHUNKS: how many parts were carried.
set -o pipefail
mkdir -p /tmp/s2i && cp .device/h100/p*/chunk* /tmp/s2i/ 2>/dev/null
n=$(ls /tmp/s2i/chunk* | wc -l); echo "chunks: $n"; [ "$n" = "${CHUNKS:-9}" ] || exit 3
cd /tmp/s2i && cat chunk? | tar x && cd - >/dev/null || exit 4
python3 -m pip install -q --no-index --no-deps --target /tmp/site /tmp/s2i/wheels/*.whl || exit 5
cp -r /tmp/s2i/site/* /tmp/site/
mkdir -p /tmp/debroot && for d in /tmp/s2i/debs/*.deb; do dpkg -x "$d" /tmp/debroot; done
cp -a --update=none /tmp/debroot/usr/. /usr/; [ -d /tmp/debroot/lib ] && cp -a --update=none /tmp/debroot/lib/. /usr/lib/; cp -a --update=none /tmp/debroot/etc/. /etc/ 2>/dev/null; ldconfig
id postgres >/dev/null 2>&1 || useradd -r -M postgres
export PYTHONPATH=/tmp/site PATH=/tmp/site/bin:$PATH PYTHONUNBUFFERED=1
PY=$(python3 -c "import sys; print(sys.prefix)")
rm -rf .venv && mkdir -p .venv/bin && ln -s "$(command -v python3)" .venv/bin/python
for t in pytest ruff streamlit; do ln -sf /tmp/site/bin/$t .venv/bin/$t; done
touch -d '2030-01-01' .venv/.installed
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader; nproc; lscpu | grep "Model name"
python3 -c "import torch, ctranslate2, faster_whisper, streamlit, PIL, pytest; print(torch.__version__, torch.cuda.is_available(), ctranslate2.__version__, PIL.__version__, pytest.__version__)"
for b in redis-server pdftoppm zbarimg espeak-ng /usr/lib/postgresql/15/bin/initdb /usr/lib/postgresql/15/bin/postgres; do ldd $(command -v $b) | grep "not found" | sed "s|^|$b: |"; done
redis-server --version; zbarimg --version; espeak-ng --version; pdftoppm -v 2>&1 | head -1
export PYTEST_ADDOPTS="-n ${XDIST:-8} --ignore=tests/e2e -q"
time timeout ${LIMIT:-560} make test 2>&1 | tee $OUT/make_test.log | tail -60
