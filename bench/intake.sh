#!/usr/bin/env bash
# Durable webhook intake with wrk on loopback, beside a bare ASP.NET Core endpoint measured in the same script.
# Usage: bench/intake.sh [seconds] [connections]   (needs wrk: apt-get install -y wrk; builds Release first)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/steal.sh
SECONDS_RUN=${1:-10}; CONNECTIONS=${2:-64}
for p in src/Ferry bench/Ferry.Bench; do dotnet build -c Release "$p" -nologo -v q >/dev/null; done
FERRY=src/Ferry/bin/Release/net10.0/ferry.dll
BENCH=bench/Ferry.Bench/bin/Release/net10.0/Ferry.Bench.dll
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
cp bench/projects/post.lua "$WORK/post.lua"
wait_ready() { for _ in $(seq 1 100); do curl -sf "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done; echo "not ready: $1" >&2; exit 1; }

# Each server first gets a warm-up flood (JIT tiering, caches, connection pools), not counted: 15 s, because with both
# cores busy the tiering compiler needs more than 10 s to reach the steady state.
WARMUP=${FERRY_BENCH_WARMUP:-15}
# measure URL PID: also prints the server's CPU time per request (utime + stime of PID), steadier than req/s on a
# shared machine; wrk's own CPU per request and the machine's idle share (wrk runs on the same two cores: at 30,000
# req/s every µs per request is 3 % of the machine); and for Ferry the intake journal's durable writes in the window.
measure() {
  wrk -t2 -c"$CONNECTIONS" -d"${WARMUP}s" -s "$WORK/post.lua" "$1" >/dev/null
  steal_mark
  local before after out idle0 idle1 journal0 journal1 wrk_cpu
  before=$(awk '{print $14 + $15}' "/proc/$2/stat")
  idle0=$(awk '/^cpu /{print $5 + $6, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9}' /proc/stat)
  journal0=$(journal_writes "$1")
  local TIMEFORMAT='%U %S'
  wrk_cpu=$( { time wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_RUN}s" -s "$WORK/post.lua" "$1" > "$WORK/wrk.out"; } 2>&1 )
  out=$(cat "$WORK/wrk.out")
  after=$(awk '{print $14 + $15}' "/proc/$2/stat")
  idle1=$(awk '/^cpu /{print $5 + $6, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9}' /proc/stat)
  journal1=$(journal_writes "$1")
  echo "$out" | grep -E "Requests/sec|Latency|Non-2xx"
  echo "$out" | awk -v ticks=$((after - before)) -v hz="$(getconf CLK_TCK)" -v wrk="$wrk_cpu" -v idle="$idle0 $idle1" '/requests in/ {
    split(wrk, w, " "); split(idle, i, " ")
    printf "    server CPU per request: %.1f µs; wrk: %.1f µs; machine idle %.1f %%\n", ticks * 1e6 / hz / $1, (w[1] + w[2]) * 1e6 / $1, 100 * (i[3] - i[1]) / (i[4] - i[2]) }'
  if [ -n "$journal0" ] && [ -n "$journal1" ]; then
    awk -v a="$journal0" -v b="$journal1" 'BEGIN { split(a, x, " "); split(b, y, " "); n = y[1] - x[1]
      if (n > 0) printf "    intake journal: %d durable writes, %.1f requests and %.0f µs each (write + fsync)\n", n, (y[2] - x[2]) / n, (y[3] - x[3]) * 1e6 / n }'
  fi
  steal_report
}

# The intake journal's durable writes so far, from /metrics: "count requests seconds" (empty for the bare endpoint).
journal_writes() {
  curl -s "${1%%/i/*}/metrics" 2>/dev/null | awk '
    /^ferry_intake_journal_batch_size_count / {n = $2} /^ferry_intake_journal_batch_size_sum / {r = $2}
    /^ferry_intake_journal_write_duration_seconds_sum / {s = $2} END { if (n != "") print n, r, s }'
}

# Requests acknowledged (journaled) but not yet stored as work orders when wrk stopped, and how long they took to store.
drained() {
  local start=$(date +%s.%N) backlog first=""
  while :; do
    backlog=$(curl -s "$1/metrics" | awk '/^ferry_intake_backlog /{print $2}')
    [ -z "$first" ] && first=$backlog
    [ "${backlog:-0}" = 0 ] && break
    sleep 0.1
  done
  echo "    intake journal backlog when wrk stopped: ${first:-0}, stored in the database $(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b - a}') s later"
}

dotnet "$BENCH" bare-endpoint http://127.0.0.1:4998 & BARE=$!
wait_ready http://127.0.0.1:4998/i/x/y/z -X POST -d '{}'
echo "== bare ASP.NET Core endpoint (reads body, 202, stores nothing)"
measure http://127.0.0.1:4998/i/intake/cases/hook $BARE
kill $BARE; wait $BARE 2>/dev/null || true

for DB in sqlite ${FERRY_BENCH_PG:+postgres}; do
  for WORKERS in default 0; do
    ARGS=(serve --data "$WORK/data-$DB-$WORKERS" --urls http://127.0.0.1:4997 --deploy bench/projects/intake)
    [ "$DB" = postgres ] && ARGS+=(--database "$FERRY_BENCH_PG")
    [ "$WORKERS" = 0 ] && ARGS+=(--workers 0)
    dotnet "$FERRY" "${ARGS[@]}" > "$WORK/serve-$DB.log" 2>&1 & SERVE=$!
    wait_ready http://127.0.0.1:4997/readyz
    if [ "$WORKERS" = 0 ]; then echo "== ferry serve ($DB, --workers 0): durable intake alone, 202 after the journal fsync"
    else echo "== ferry serve ($DB): durable intake, 202 after the journal fsync, runs executing meanwhile"; fi
    measure http://127.0.0.1:4997/i/intake/cases/hook $SERVE
    drained http://127.0.0.1:4997
    kill $SERVE; wait $SERVE 2>/dev/null || true
  done
done
