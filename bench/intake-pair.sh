#!/usr/bin/env bash
# Durable intake of two builds measured AT THE SAME TIME: an earlier commit (built in a temporary worktree) and the
# working tree each run a `ferry serve --workers 0` flooded by its own wrk (half the connections each), so both see the
# same moment of a shared host. On this project's 2-core VM the same build measured 38-71 µs of CPU per request from
# one minute to the next, which buries a 10 % change in bench/intake-ab.sh's alternating rounds; side by side, the
# same build against itself gave ratios of 1.02-1.06 in three rounds.
# Each round: both servers fresh, a 12 s warm-up flood, then both measured for 10 s; which build starts first and
# which port it gets alternate between rounds. Prints each build's req/s and server CPU µs per request (utime + stime
# from /proc/PID/stat), and the ratio B/A of CPU per request; then the mean ratio.
# What it does not show: anything that depends on having the machine to itself (idle time waiting for the journal's
# fsync, batch sizes at full load). Confirm a gain with bench/intake-ab.sh or bench/intake.sh.
# Usage: bench/intake-pair.sh BASE_COMMIT [rounds] [connections per server]   (needs wrk: apt-get install -y wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
BASE=${1:?usage: bench/intake-pair.sh BASE_COMMIT [rounds] [connections per server]}; ROUNDS=${2:-4}; CONNECTIONS=${3:-32}
WORK=$(mktemp -d)
cleanup() {
  # The servers are started inside $(...), so they are not jobs of this shell: killed by the pids start() noted.
  kill $(jobs -p) $(cat "$WORK/pids" 2>/dev/null) 2>/dev/null || true; wait 2>/dev/null || true
  git worktree remove --force "$WORK/base" >/dev/null 2>&1 || true; rm -rf "$WORK"
}
trap cleanup EXIT
git worktree add --detach "$WORK/base" "$BASE" >/dev/null 2>&1
(cd "$WORK/base" && dotnet build -c Release src/Ferry -nologo -v q >/dev/null)
dotnet build -c Release src/Ferry -nologo -v q >/dev/null
A="$WORK/base/src/Ferry/bin/Release/net10.0/ferry.dll"; B=src/Ferry/bin/Release/net10.0/ferry.dll
cp bench/projects/post.lua "$WORK/post.lua"

# start DLL PORT: a fresh server; prints its pid once it is ready.
start() {
  rm -rf "$WORK/data-$2"
  dotnet "$1" serve --data "$WORK/data-$2" --urls "http://127.0.0.1:$2" --deploy bench/projects/intake --workers 0 > "$WORK/serve-$2.log" 2>&1 < /dev/null &
  local pid=$!
  echo $pid >> "$WORK/pids"
  for _ in $(seq 1 150); do curl -sf "http://127.0.0.1:$2/readyz" >/dev/null 2>&1 && break; sleep 0.2; done
  curl -sf "http://127.0.0.1:$2/readyz" >/dev/null || { cat "$WORK/serve-$2.log" >&2; exit 1; }
  echo $pid
}
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# flood SECONDS OUT: both servers at once, each by its own wrk.
flood() {
  wrk -t1 -c"$CONNECTIONS" -d"$1s" -s "$WORK/post.lua" "http://127.0.0.1:$PORT_A/i/intake/cases/hook" > "$WORK/a.out" &
  wrk -t1 -c"$CONNECTIONS" -d"$1s" -s "$WORK/post.lua" "http://127.0.0.1:$PORT_B/i/intake/cases/hook" > "$WORK/b.out"
  wait
}

echo "intake (sqlite), --workers 0, both at once with $CONNECTIONS connections each: A = $BASE, B = working tree"
for r in $(seq 1 "$ROUNDS"); do
  if [ $((r % 2)) = 1 ]; then PORT_A=4991; PORT_B=4992; PID_A=$(start "$A" $PORT_A); PID_B=$(start "$B" $PORT_B)
  else PORT_A=4992; PORT_B=4991; PID_B=$(start "$B" $PORT_B); PID_A=$(start "$A" $PORT_A); fi
  flood 12
  ta=$(ticks "$PID_A"); tb=$(ticks "$PID_B")
  flood 10
  ta=$(( $(ticks "$PID_A") - ta )); tb=$(( $(ticks "$PID_B") - tb ))
  kill "$PID_A" "$PID_B"; wait "$PID_A" "$PID_B" 2>/dev/null || true
  awk -v ta="$ta" -v tb="$tb" -v hz="$(getconf CLK_TCK)" -v na="$(awk '/requests in/{print $1}' "$WORK/a.out")" \
    -v nb="$(awk '/requests in/{print $1}' "$WORK/b.out")" 'BEGIN {
      ca = ta * 1e6 / hz / na; cb = tb * 1e6 / hz / nb
      printf "A %6.0f req/s %5.1f µs CPU per request | B %6.0f req/s %5.1f µs | B/A %.3f\n", na / 10, ca, nb / 10, cb, cb / ca }'
done | tee "$WORK/rounds"
awk '{sum += $NF; n++} END {printf "mean B/A of CPU per request: %.3f over %d rounds\n", sum / n, n}' "$WORK/rounds"
