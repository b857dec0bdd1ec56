#!/usr/bin/env bash
# A throwaway PostgreSQL for tests: initdb in DIR, listen on 127.0.0.1 at a free
# port, password auth over TCP (user postgres, password "datawatch-test"),
# run as the `postgres` user when we are root.
#
#   pg-test-server.sh start DIR   # prints the DSN; also writes DIR/dsn
#   pg-test-server.sh stop DIR    # fast shutdown (data kept)
#   pg-test-server.sh restart DIR # start again on the same port
#   pg-test-server.sh destroy DIR # stop and remove DIR
set -euo pipefail
cmd=${1:?usage: pg-test-server.sh start|stop|restart|destroy DIR}
dir=${2:?usage: pg-test-server.sh start|stop|restart|destroy DIR}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[[ -x "$bin/initdb" ]] || { echo "pg-test-server: PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 1; }

as_pg() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# shellcheck source=scripts/free-port.sh
source "$(dirname "${BASH_SOURCE[0]}")/free-port.sh"

start_server() {
  local port=$1
  as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off" start >/dev/null
}

case "$cmd" in
  start)
    mkdir -p "$dir"
    [[ $(id -u) -eq 0 ]] && chown postgres "$dir"
    echo "datawatch-test" > "$dir/pw"
    [[ $(id -u) -eq 0 ]] && chown postgres "$dir/pw"
    as_pg "$bin/initdb" -D "$dir/data" -U postgres --pwfile="$dir/pw" \
      --auth-local=trust --auth-host=scram-sha-256 >/dev/null
    port=$(free_port pg-test-server)
    echo "$port" > "$dir/port"
    start_server "$port"
    dsn="postgresql://postgres:datawatch-test@127.0.0.1:$port/postgres"
    echo "$dsn" > "$dir/dsn"
    echo "$dsn"
    ;;
  stop) as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null ;;
  restart) start_server "$(cat "$dir/port")" ;;
  destroy)
    as_pg "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$dir"
    ;;
  *) echo "pg-test-server: unknown command $cmd" >&2; exit 2 ;;
esac
