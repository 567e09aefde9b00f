#!/usr/bin/env bash
# Copies this worktree's code to DEVICE_DIR/code (default .device/gpu in this checkout), which the
# `device` tool carries: it sends the session's own checkout, so a helper working in another
# worktree sets DEVICE_DIR to that checkout's .device/gpu (e.g. /work/main/.device/gpu).
set -euo pipefail
cd "$(dirname "$0")/.."
dest=${DEVICE_DIR:-$PWD/.device/gpu}
mkdir -p "$dest"
rm -rf "$dest/code"
mkdir "$dest/code"
tar cf - --exclude=.venv --exclude=.git --exclude=./data --exclude=./docs --exclude=__pycache__ \
  --exclude=test-artifacts --exclude=./s2i_core/fonts --exclude=./tests/e2e \
  --exclude=./bench/results --exclude=./.device . | tar xf - -C "$dest/code"
