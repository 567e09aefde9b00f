# Two commands for a newcomer: `make run` starts the app, `make test` runs every test.
# The app is s2i_ui/server.py: Home.py and its pages, plus our own routes (pictures, narration).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PORT   ?= 8501

.PHONY: install run run-lan test lint format bench gpu-test-pack clean messages

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# the CPU build of torch first: a plain `torch` would pull several GB of CUDA packages
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/streamlit run s2i_ui/server.py --server.address 127.0.0.1 --server.port $(PORT) --server.headless true

# Students' tablets on the school network: HTTPS (a self-signed certificate made on first run),
# only with a teacher passcode (S2I_TEACHER_PASSCODE). See README, "Students on their own devices".
run-lan: $(STAMP)
	$(PY) -m s2i_core.lan --port $(PORT)

test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# The app's words: extract them from the code into messages.pot, merge it into every language's
# catalogue (README, "Adding a language"), compile them (the app also compiles a catalogue newer
# than its .mo by itself, so a fresh clone needs no build step).
LOCALES := es fr de pt hi zh ja ar
messages: $(STAMP)
	$(VENV)/bin/pybabel extract -F babel.cfg -k msg -k msg_n:1,2 --project=s2i \
		--add-location=file --sort-output \
		--no-wrap -o s2i_core/locales/messages.pot Home.py app_pages s2i_ui s2i_core
	for locale in $(LOCALES); do \
		$(VENV)/bin/pybabel update -i s2i_core/locales/messages.pot -d s2i_core/locales \
			-l $$locale --no-wrap --ignore-obsolete || exit 1; \
	done
	$(VENV)/bin/pybabel compile -d s2i_core/locales --statistics

bench: $(STAMP)
	$(PY) -m bench

# `make test` on the lent GPU machine, step 1: pack what it lacks (bench/results/h200_tests/README.md)
gpu-test-pack: $(STAMP)
	bench/gpu_test_pack.sh

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache test-artifacts
