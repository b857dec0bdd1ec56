#!/usr/bin/env bash
# Installs the Debian 12 packages datawatch needs to build, test and run.
# Idempotent: packages already installed are not fetched again, and apt-get
# update runs only when something is missing.
#
# usage: scripts/install-deps.sh [--test]   (--test adds what the test suite needs)
set -euo pipefail

packages=(
  build-essential cmake pkg-config git
  libboost-program-options-dev libyaml-cpp-dev libspdlog-dev libfmt-dev
  libcurl4-openssl-dev libpqxx-dev libpq-dev libsqlite3-dev sqlite3
  librdkafka-dev nlohmann-json3-dev libcpp-httplib-dev libssl-dev
  libkainjow-mustache-dev tzdata
  unixodbc-dev odbc-postgresql odbc-mariadb
)
if [[ "${1:-}" == "--test" ]]; then
  # clang + its runtimes: both sanitizer builds of scripts/test.sh (ASan/UBSan in build-test, TSan in build-tsan);
  # llvm: llvm-symbolizer on PATH, without which clang's sanitizer reports have no names or file:line.
  # mariadb-server + libsqliteodbc + sqlglot: the ODBC source's live and dialect tests.
  # ninja-build: scripts/test.sh's builds (one graph: no idle core between targets).
  # prometheus-alertmanager: the alertmanager notifier against a real Alertmanager.
  # prometheus-cpp-dev: the reference serializer /metrics is checked against.
  packages+=(catch2 prometheus-cpp-dev postgresql prometheus chromium clang libclang-rt-14-dev llvm
             mariadb-server libsqliteodbc python3-sqlglot ninja-build
             prometheus-alertmanager)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
