#!/usr/bin/env bash
# Durable webhook intake of two builds, alternated round by round so that both see the same state of a noisy machine:
# the working tree against an earlier commit (built in a temporary worktree). Each round: a fresh `ferry serve
# --workers 0`, a 10 s warm-up flood, then 8 s measured. Prints req/s, the server's CPU time per request (from
# /proc/PID/stat, utime + stime), and how idle the machine was; then the means.
# Usage: bench/intake-ab.sh BASE_COMMIT [rounds] [connections]   (needs wrk: apt-get install -y wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
BASE=${1:?usage: bench/intake-ab.sh BASE_COMMIT [rounds] [connections]}; ROUNDS=${2:-4}; CONNECTIONS=${3:-64}
WORK=$(mktemp -d)
cleanup() { kill $(jobs -p) 2>/dev/null || true; git worktree remove --force "$WORK/base" >/dev/null 2>&1 || true; rm -rf "$WORK"; }
trap cleanup EXIT
git worktree add --detach "$WORK/base" "$BASE" >/dev/null 2>&1
(cd "$WORK/base" && dotnet build -c Release src/Ferry -nologo -v q >/dev/null)
dotnet build -c Release src/Ferry -nologo -v q >/dev/null
A="$WORK/base/src/Ferry/bin/Release/net10.0/ferry.dll"; B=src/Ferry/bin/Release/net10.0/ferry.dll
cp bench/projects/post.lua "$WORK/post.lua"
URL=http://127.0.0.1:4994/i/intake/cases/hook

# One round of one build: prints "req/s cpu-us-per-request idle-percent".
round() {
  rm -rf "$WORK/data"
  dotnet "$1" serve --data "$WORK/data" --urls http://127.0.0.1:4994 --deploy bench/projects/intake --workers 0 > "$WORK/serve.log" 2>&1 & local pid=$!
  for _ in $(seq 1 150); do curl -sf http://127.0.0.1:4994/readyz >/dev/null 2>&1 && break; sleep 0.2; done
  wrk -t2 -c"$CONNECTIONS" -d10s -s "$WORK/post.lua" "$URL" >/dev/null
  local t0 t1 out; t0=$(awk '{print $14 + $15}' /proc/$pid/stat); read -r _ u0 n0 s0 i0 w0 q0 sq0 st0 _ < /proc/stat
  out=$(wrk -t2 -c"$CONNECTIONS" -d8s -s "$WORK/post.lua" "$URL")
  t1=$(awk '{print $14 + $15}' /proc/$pid/stat); read -r _ u1 n1 s1 i1 w1 q1 sq1 st1 _ < /proc/stat
  kill $pid; wait $pid 2>/dev/null || true
  local requests rate total
  requests=$(echo "$out" | awk '/requests in/{print $1}'); rate=$(echo "$out" | awk '/Requests\/sec/{print $2}')
  total=$(( (u1 + n1 + s1 + i1 + w1 + q1 + sq1 + st1) - (u0 + n0 + s0 + i0 + w0 + q0 + sq0 + st0) ))
  awk -v r="$rate" -v c=$(( (t1 - t0) * 10000 )) -v n="$requests" -v idle=$(( 100 * (i1 - i0) / total )) 'BEGIN {printf "%.0f %.1f %d\n", r, c / n, idle}'
}
echo "intake, --workers 0, $CONNECTIONS connections: A = $BASE, B = working tree; req/s, server CPU µs per request, machine idle %"
for r in $(seq 1 "$ROUNDS"); do
  echo "A $(round "$A")"
  echo "B $(round "$B")"
done | tee "$WORK/rounds"
awk '{rate[$1] += $2; cpu[$1] += $3; n[$1]++} END {for (k in rate) printf "%s mean %.0f req/s, %.1f µs CPU per request\n", k, rate[k] / n[k], cpu[k] / n[k]}' "$WORK/rounds" | sort
