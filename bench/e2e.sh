#!/usr/bin/env bash
# End-to-end: webhook → two C# steps → run persisted with dataclips, through a real `ferry serve` (Release).
# Floods the webhook with wrk for N seconds, waits until every run is final, then prints from the store's own
# timestamps: runs/s (first created → last finished), queue latency p50/p99 (created → started), and the server's
# idle RSS measured after start, before any load.
# Usage: bench/e2e.sh [sqlite|postgres] [seconds] [connections] [workers] [rate]
#   postgres: a throwaway cluster (initdb into a temp folder, default durability: fsync on), stopped at the end.
#   rate: offer about this many requests/s instead of flooding (each connection waits connections/rate between its
#         requests), to see whether the server keeps up with that rate and at what queue latency.
#   FERRY_BENCH_WARMUP (seconds, default 15): a flood before the measured window, drained and left out of it, so the
#         JIT has tiered up the hot paths (with both cores busy that takes more than 10 s).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/steal.sh
source bench/postgres.sh
DB=${1:-sqlite}; SECONDS_RUN=${2:-10}; CONNECTIONS=${3:-64}; WORKERS=${4:-}; RATE=${5:-}; WARMUP=${FERRY_BENCH_WARMUP:-15}
dotnet build -c Release src/Ferry -nologo -v q >/dev/null
FERRY=src/Ferry/bin/Release/net10.0/ferry.dll
WORK=$(mktemp -d); chmod 755 "$WORK"
PGPORT=55432
cleanup() {
  kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true
  pg_stop "$WORK/pg"
  rm -rf "$WORK"
}
trap cleanup EXIT

cp bench/projects/post.lua "$WORK/post.lua"

ARGS=(serve --data "$WORK/data" --urls http://127.0.0.1:4996 --deploy bench/projects/e2e)
[ -n "$WORKERS" ] && ARGS+=(--workers "$WORKERS")
if [ "$DB" = postgres ]; then
  pg_start "$WORK/pg" $PGPORT
  ARGS+=(--database "$PG_CONNECTION")
fi
sql() {
  if [ "$DB" = postgres ]; then pg_sql $PGPORT "$1"
  else python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); [print("|".join(map(str,r))) for r in c.execute(sys.argv[2])]; c.commit()' "$WORK/data/ferry.db" "$1"; fi
}

dotnet "$FERRY" "${ARGS[@]}" > "$WORK/serve.log" 2>&1 & SERVE=$!
for _ in $(seq 1 150); do curl -sf http://127.0.0.1:4996/readyz >/dev/null 2>&1 && break; sleep 0.2; done
curl -sf http://127.0.0.1:4996/readyz >/dev/null || { cat "$WORK/serve.log"; exit 1; }
sleep 3
echo "== ferry serve ($DB) idle RSS after start: $(grep VmRSS /proc/$SERVE/status | awk '{print $2/1024 " MB"}')"
curl -sf -X POST -H 'Content-Type: application/json' -d '{"firstName":"A","lastName":"B"}' http://127.0.0.1:4996/i/e2e/cases/hook >/dev/null
# Waits until every run is final and no acknowledged request waits in the intake journal; prints the seconds it took.
drain() {
  local start=$(date +%s) left backlog
  while :; do
    # Counted through the queue's and in-flight runs' partial indexes (each condition word for word): a filter on
    # status walks every run, which on PostgreSQL cost about 350 ms of the database's CPU a poll, inside the window.
    left=$(sql "SELECT (SELECT COUNT(*) FROM runs WHERE status = 'available') + (SELECT COUNT(*) FROM runs WHERE status IN ('claimed', 'started'))")
    backlog=$(curl -s http://127.0.0.1:4996/metrics | awk '/^ferry_intake_backlog /{print $2}')
    [ "$left" = 0 ] && [ "${backlog:-0}" = 0 ] && break
    [ $(( $(date +%s) - start )) -gt 600 ] && { echo "gave up waiting: $left runs not final" >&2; break; }
    sleep 1
  done
  echo $(( $(date +%s) - start ))
}
# The first run compiles both steps; the warm-up flood tiers up the hot paths. Both stay out of the measured window.
for _ in $(seq 1 120); do [ "$(sql "SELECT COUNT(*) FROM runs WHERE status = 'success'")" = 1 ] && break; sleep 0.5; done
if [ "$WARMUP" -gt 0 ]; then
  wrk -t2 -c"$CONNECTIONS" -d"${WARMUP}s" -s "$WORK/post.lua" http://127.0.0.1:4996/i/e2e/cases/hook >/dev/null
  echo "== warm-up: ${WARMUP}s flood, drained in $(drain) s"
fi
sql "DELETE FROM runs" >/dev/null

if [ -n "$RATE" ]; then
  # Each connection waits connections/rate seconds between requests (minus about a millisecond for the request).
  echo "function delay() return $(( CONNECTIONS * 1000 / RATE > 1 ? CONNECTIONS * 1000 / RATE - 1 : 0 )) end" >> "$WORK/post.lua"
  echo "== wrk ${SECONDS_RUN}s, $CONNECTIONS connections paced to about $RATE requests/s, while the workers run the two steps"
else
  echo "== wrk ${SECONDS_RUN}s, $CONNECTIONS connections flooding the webhook while the workers run the two steps"
fi
steal_mark
wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_RUN}s" -s "$WORK/post.lua" http://127.0.0.1:4996/i/e2e/cases/hook | grep -E "Requests/sec|Latency|Non-2xx"
DRAINED=$(drain)
steal_report
echo "== every run final after $DRAINED s of draining; by state: $(sql "SELECT status || '=' || COUNT(*) FROM runs GROUP BY status" | tr '\n' ' ')"
echo "== stored for the measured runs: $(sql "SELECT COUNT(*) FROM dataclips WHERE work_order_id IN (SELECT work_order_id FROM runs)") dataclips, $(sql "SELECT COUNT(*) FROM step_runs WHERE run_id IN (SELECT id FROM runs)") step runs"
if [ "$DB" = postgres ]; then
  sql "SELECT COUNT(*) || ' runs in ' || round(EXTRACT(EPOCH FROM MAX(finished_at) - MIN(created_at))::numeric, 2) || ' s = ' ||
              round((COUNT(*) / EXTRACT(EPOCH FROM MAX(finished_at) - MIN(created_at)))::numeric, 0) || ' runs/s; queue latency (created → started) p50 ' ||
              round(1000 * EXTRACT(EPOCH FROM percentile_cont(0.5) WITHIN GROUP (ORDER BY started_at - created_at))::numeric, 1) || ' ms, p99 ' ||
              round(1000 * EXTRACT(EPOCH FROM percentile_cont(0.99) WITHIN GROUP (ORDER BY started_at - created_at))::numeric, 1) || ' ms'
       FROM runs WHERE status = 'success'"
else
  python3 - "$WORK/data/ferry.db" <<'PY'
import sqlite3, sys
rows = sqlite3.connect(sys.argv[1]).execute("SELECT created_at, started_at, finished_at FROM runs WHERE status = 'success'").fetchall()
lat = sorted(s - c for c, s, f in rows)
span = (max(f for _, _, f in rows) - min(c for c, _, _ in rows)) / 1000
pct = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))]
print(f"{len(rows)} runs in {span:.2f} s = {len(rows) / span:.0f} runs/s; queue latency (created → started) p50 {pct(0.5)} ms, p99 {pct(0.99)} ms")
PY
fi
