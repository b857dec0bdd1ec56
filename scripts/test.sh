#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to the whole test suite:
# installs the packages, builds with AddressSanitizer + UndefinedBehaviorSanitizer
# and warnings as errors into build-test/, starts the services the tests need,
# and runs every test with ctest. Exits non-zero when anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --test

build=build-test
# -O1 -g1: sanitizer reports keep file:line, and the build takes a third less
# time than -O2 -g (CI must stay under 20 minutes on 2 cores).
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" \
  -DDATAWATCH_SANITIZE=ON -DDATAWATCH_WERROR=ON \
  -DDATAWATCH_BUILD_TESTS=ON -DDATAWATCH_BUILD_BENCH=ON >/dev/null
cmake --build "$build" -j"$(nproc)"

# Sanitizers: fail on the first report; keep leak checks on.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0"

# Services. PostgreSQL: a throwaway server from Debian's packages, initialised in
# a temp dir, run as the postgres user, on a free port; removed on exit.
pgdir=$(mktemp -d /tmp/datawatch-pg.XXXXXX)
root=$PWD
trap '"$root/scripts/pg-test-server.sh" destroy "$pgdir"' EXIT
export DATAWATCH_TEST_PG_DSN=$("$root/scripts/pg-test-server.sh" start "$pgdir")
export DATAWATCH_PG_TEST_SERVER="$root/scripts/pg-test-server.sh"
echo "test.sh: PostgreSQL for tests at ${DATAWATCH_TEST_PG_DSN/:datawatch-test@/:***@}"

cd "$build"
ctest --output-on-failure -j"$(nproc)" --timeout 600
