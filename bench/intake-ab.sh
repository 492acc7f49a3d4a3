#!/usr/bin/env bash
# Durable webhook intake of two builds, alternated round by round so that both see the same state of a noisy machine:
# the working tree against an earlier commit (built in a temporary worktree). Each round: a fresh `ferry serve
# --workers 0`, a 10 s warm-up flood, then 8 s measured. Prints req/s, the server's CPU time per request (from
# /proc/PID/stat, utime + stime), and how idle the machine was; then the means.
# postgres: both builds store into a throwaway cluster (a fresh database each round). Each round then also prints how
# many acknowledged requests still waited in the intake journal when wrk stopped, and PostgreSQL's CPU time per
# request, from the start of the measured window until that backlog is stored.
# Usage: bench/intake-ab.sh BASE_COMMIT [rounds] [connections] [sqlite|postgres]   (needs wrk: apt-get install -y wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/postgres.sh
BASE=${1:?usage: bench/intake-ab.sh BASE_COMMIT [rounds] [connections] [sqlite|postgres]}; ROUNDS=${2:-4}; CONNECTIONS=${3:-64}; DB=${4:-sqlite}
WORK=$(mktemp -d); chmod 755 "$WORK"
PGPORT=55431
cleanup() {
  kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true
  pg_stop "$WORK/pg"
  git worktree remove --force "$WORK/base" >/dev/null 2>&1 || true; rm -rf "$WORK"
}
trap cleanup EXIT
SERVE_DB=()
[ "$DB" = postgres ] && { pg_start "$WORK/pg" $PGPORT; SERVE_DB=(--database "$PG_CONNECTION"); }
git worktree add --detach "$WORK/base" "$BASE" >/dev/null 2>&1
(cd "$WORK/base" && dotnet build -c Release src/Ferry -nologo -v q >/dev/null)
dotnet build -c Release src/Ferry -nologo -v q >/dev/null
A="$WORK/base/src/Ferry/bin/Release/net10.0/ferry.dll"; B=src/Ferry/bin/Release/net10.0/ferry.dll
cp bench/projects/post.lua "$WORK/post.lua"
URL=http://127.0.0.1:4994/i/intake/cases/hook

backlog() { curl -s http://127.0.0.1:4994/metrics | awk '/^ferry_intake_backlog /{print $2}'; }
# Waits (up to a minute) until every acknowledged request is stored in the database.
stored() { for _ in $(seq 1 600); do [ "$(backlog)" = 0 ] && return 0; sleep 0.1; done; }

# One round of one build: prints "req/s cpu-us-per-request idle-percent", and on PostgreSQL also "backlog pg-cpu-us".
round() {
  rm -rf "$WORK/data"
  [ "$DB" = postgres ] && as_pg "$PGBIN/psql" -h 127.0.0.1 -p $PGPORT -U postgres -qc "DROP DATABASE ferry" -c "CREATE DATABASE ferry" >/dev/null
  dotnet "$1" serve --data "$WORK/data" --urls http://127.0.0.1:4994 --deploy bench/projects/intake --workers 0 "${SERVE_DB[@]}" > "$WORK/serve.log" 2>&1 & local pid=$!
  for _ in $(seq 1 150); do curl -sf http://127.0.0.1:4994/readyz >/dev/null 2>&1 && break; sleep 0.2; done
  wrk -t2 -c"$CONNECTIONS" -d10s -s "$WORK/post.lua" "$URL" >/dev/null
  stored
  local t0 t1 out p0 p1 left; t0=$(awk '{print $14 + $15}' /proc/$pid/stat); read -r _ u0 n0 s0 i0 w0 q0 sq0 st0 _ < /proc/stat; p0=$(pg_cpu_ticks)
  out=$(wrk -t2 -c"$CONNECTIONS" -d8s -s "$WORK/post.lua" "$URL")
  t1=$(awk '{print $14 + $15}' /proc/$pid/stat); read -r _ u1 n1 s1 i1 w1 q1 sq1 st1 _ < /proc/stat
  left=$(backlog); stored; p1=$(pg_cpu_ticks)
  kill $pid; wait $pid 2>/dev/null || true
  local requests rate total
  requests=$(echo "$out" | awk '/requests in/{print $1}'); rate=$(echo "$out" | awk '/Requests\/sec/{print $2}')
  total=$(( (u1 + n1 + s1 + i1 + w1 + q1 + sq1 + st1) - (u0 + n0 + s0 + i0 + w0 + q0 + sq0 + st0) ))
  awk -v r="$rate" -v c=$(( (t1 - t0) * 10000 )) -v n="$requests" -v idle=$(( 100 * (i1 - i0) / total )) 'BEGIN {printf "%.0f %.1f %d", r, c / n, idle}'
  [ "$DB" = postgres ] && awk -v b="$left" -v p=$(( (p1 - p0) * 10000 )) -v n="$requests" 'BEGIN {printf " %d %.1f", b, p / n}'
  echo
}
echo "intake ($DB), --workers 0, $CONNECTIONS connections: A = $BASE, B = working tree; req/s, server CPU µs per request, machine idle %"
[ "$DB" = postgres ] && echo "  then: requests not yet stored when wrk stopped, PostgreSQL CPU µs per request"
for r in $(seq 1 "$ROUNDS"); do
  echo "A $(round "$A")"
  echo "B $(round "$B")"
done | tee "$WORK/rounds"
awk '{rate[$1] += $2; cpu[$1] += $3; left[$1] += $5; pg[$1] += $6; n[$1]++; fields = NF}
  END {
    for (k in rate) {
      more = ""
      if (fields >= 6) more = sprintf("; %.0f not yet stored, %.1f µs PostgreSQL CPU per request", left[k] / n[k], pg[k] / n[k])
      printf "%s mean %.0f req/s, %.1f µs CPU per request%s\n", k, rate[k] / n[k], cpu[k] / n[k], more
    }
  }' "$WORK/rounds" | sort
