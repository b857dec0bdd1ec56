#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to `datawatch demo`:
# installs the packages, builds (Release) into build/, runs the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# Warnings are errors in the test build (CI); here a newer compiler's new warning
# must not keep a user from the demo.
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DDATAWATCH_WERROR=OFF -DDATAWATCH_BUILD_TESTS=OFF >/dev/null
cmake --build build -j"$(nproc)" --target datawatch
exec ./build/agent/datawatch demo "$@"
