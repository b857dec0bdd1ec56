# Sourced by the test-server scripts (pg-test-server.sh, mariadb-test-server.sh).
#
# free_port NAME: prints a free TCP port on 127.0.0.1 below the kernel's
# ephemeral range (ip_local_port_range), which it never gives a client
# connection as its local port: a server stopped and restarted on its port
# (the restart tests) must find it free again, and with the suite's hundreds of
# connections a second a port inside that range could be taken in between
# ("pg_ctl: could not start server", seen once in CI). NAME prefixes the error.
free_port() {
  local p low=32768 rest
  read -r low rest < /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
  local lo=10000 hi=$((low - 1))
  ((hi > lo + 1000)) || { lo=20000; hi=60000; }
  for p in $(shuf -i "$lo-$hi" -n 50); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
  echo "$1: no free port" >&2; exit 1
}
