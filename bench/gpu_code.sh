#!/usr/bin/env bash
# Copies this worktree's code to /work/main/.device/gpu/code, which the `device` tool carries.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p /work/main/.device/gpu
rm -rf /work/main/.device/gpu/code
mkdir /work/main/.device/gpu/code
tar cf - --exclude=.venv --exclude=.git --exclude=./data --exclude=./docs --exclude=__pycache__ \
  --exclude=test-artifacts --exclude=./s2i_core/fonts --exclude=./tests/e2e \
  --exclude=./bench/results . | tar xf - -C /work/main/.device/gpu/code
