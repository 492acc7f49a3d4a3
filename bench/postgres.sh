# Sourced by the bench scripts: a throwaway PostgreSQL cluster (initdb into a folder, default durability: fsync on).
# pg_start FOLDER PORT creates it with an empty database `ferry` and sets PG_CONNECTION; pg_stop FOLDER stops it;
# pg_sql PORT SQL runs a statement in `ferry`; pg_cpu_ticks prints the CPU time (clock ticks) every postgres process
# has used so far, to charge the database's share of a measured window.
PGBIN=$(pg_config --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
pg_start() {
  local dir=$1 port=$2
  mkdir -p "$dir"; [ "$(id -u)" = 0 ] && chown postgres "$dir"
  as_pg "$PGBIN/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --no-locale >/dev/null
  as_pg "$PGBIN/pg_ctl" start -w -D "$dir/data" -l "$dir/pg.log" \
    -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$dir -c max_connections=200" >/dev/null
  as_pg "$PGBIN/psql" -h 127.0.0.1 -p "$port" -U postgres -qc "CREATE DATABASE ferry" >/dev/null
  PG_CONNECTION="Host=127.0.0.1;Port=$port;Database=ferry;Username=postgres"
}
pg_stop() { [ -d "$1/data" ] && as_pg "$PGBIN/pg_ctl" stop -m immediate -D "$1/data" >/dev/null 2>&1 || true; }
pg_sql() { as_pg "$PGBIN/psql" -h 127.0.0.1 -p "$1" -U postgres -d ferry -XAtqc "$2"; }
pg_cpu_ticks() { cat /proc/[0-9]*/stat 2>/dev/null | awk '$2 == "(postgres)" {s += $14 + $15} END {print s + 0}'; }
