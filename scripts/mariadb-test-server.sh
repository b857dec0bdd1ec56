#!/usr/bin/env bash
# A throwaway MariaDB for tests (Debian's mariadb-server, 10.11): a data dir in
# DIR, listening on 127.0.0.1 at a free port, run as the `mysql` user when we are
# root. Database `datawatch_test`; user `datawatch` (password "datawatch-test")
# may do anything on the server (tests create a database of their own each), so
# a refused write is the read-only session's doing, not a missing grant.
#
#   mariadb-test-server.sh start DIR    # prints an ODBC connection string
#                                       # (Driver=MariaDB Unicode); also DIR/odbc
#   mariadb-test-server.sh stop DIR     # shutdown (data kept)
#   mariadb-test-server.sh restart DIR  # start again on the same port
#   mariadb-test-server.sh destroy DIR  # stop and remove DIR
set -euo pipefail
cmd=${1:?usage: mariadb-test-server.sh start|stop|restart|destroy DIR}
dir=${2:?usage: mariadb-test-server.sh start|stop|restart|destroy DIR}
mysqld=/usr/sbin/mariadbd
[[ -x "$mysqld" ]] || { echo "mariadb-test-server: $mysqld not found (apt-get install mariadb-server)" >&2; exit 1; }
user=$(id -un)
[[ $(id -u) -eq 0 ]] && user=mysql

# shellcheck source=scripts/free-port.sh
source "$(dirname "${BASH_SOURCE[0]}")/free-port.sh"

client() { mariadb --no-defaults --socket="$dir/mysqld.sock" -uroot "$@"; }

start_server() {
  local port=$1 i
  # Small and fast: no binlog, no fsync per commit, a small buffer pool.
  "$mysqld" --no-defaults --user="$user" --datadir="$dir/data" --port="$port" \
    --bind-address=127.0.0.1 --socket="$dir/mysqld.sock" --pid-file="$dir/mysqld.pid" \
    --log-error="$dir/server.log" --skip-log-bin --skip-name-resolve \
    --innodb-buffer-pool-size=32M --innodb-log-file-size=16M \
    --innodb-flush-log-at-trx-commit=0 --innodb-doublewrite=0 --max-connections=200 \
    </dev/null >/dev/null 2>&1 &
  for i in $(seq 1 300); do
    if client -e 'SELECT 1' >/dev/null 2>&1; then return 0; fi
    if ! kill -0 $! 2>/dev/null; then break; fi
    sleep 0.1
  done
  echo "mariadb-test-server: the server did not start; $dir/server.log:" >&2
  tail -20 "$dir/server.log" >&2 || true
  exit 1
}

stop_server() {
  [[ -f "$dir/mysqld.pid" ]] || return 0
  local pid i
  pid=$(cat "$dir/mysqld.pid")
  kill "$pid" 2>/dev/null || return 0
  for i in $(seq 1 300); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null || true
}

case "$cmd" in
  start)
    mkdir -p "$dir"
    [[ $(id -u) -eq 0 ]] && chown "$user" "$dir"
    mariadb-install-db --no-defaults --user="$user" --datadir="$dir/data" \
      --auth-root-authentication-method=normal --skip-test-db >"$dir/install.log" 2>&1 ||
      { cat "$dir/install.log" >&2; exit 1; }
    port=$(free_port mariadb-test-server)
    echo "$port" > "$dir/port"
    start_server "$port"
    client -e "CREATE DATABASE datawatch_test;
      CREATE USER 'datawatch'@'127.0.0.1' IDENTIFIED BY 'datawatch-test';
      GRANT ALL PRIVILEGES ON *.* TO 'datawatch'@'127.0.0.1';"
    conn="Driver={MariaDB Unicode};Server=127.0.0.1;Port=$port;Database=datawatch_test;Uid=datawatch;Pwd=datawatch-test"
    echo "$conn" > "$dir/odbc"
    echo "$conn"
    ;;
  stop) stop_server ;;
  restart) start_server "$(cat "$dir/port")" ;;
  destroy)
    stop_server
    rm -rf "$dir"
    ;;
  *) echo "mariadb-test-server: unknown command $cmd" >&2; exit 2 ;;
esac
