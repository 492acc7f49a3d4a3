#!/usr/bin/env bash
# Resident memory of `ferry serve` over many deploys: a fresh server (SQLite, fresh data folder), then N deploys of a
# copy of samples/case-sync with `ferry deploy --yes`, each appending a comment to one .csx (so every deploy compiles a
# new step assembly). Prints RSS and its parts from /proc/PID/smaps every EVERY deploys, then again after IDLE seconds
# without any request (idle versions are let go of 2 minutes after their last use; the server looks every 30 s).
# Parts: doublemapper = JIT code memory; anon = GC-committed and native heap; dll = mapped assemblies; other = the rest.
# The server's own log lines about letting versions go follow.
# Usage: bench/deploy-memory.sh [deploys] [every] [idle seconds]   (defaults 200, 20, 150)
#   FERRY_BENCH_ENV: environment for the server, e.g. "DOTNET_EnableWriteXorExecute=0".
set -euo pipefail
cd "$(dirname "$0")/.."
DEPLOYS=${1:-200}; EVERY=${2:-20}; IDLE=${3:-150}
dotnet build -c Release src/Ferry -nologo -v q >/dev/null
FERRY=$PWD/src/Ferry/bin/Release/net10.0/ferry.dll
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"' EXIT
cp -r samples/case-sync "$WORK/project"
PORT=4996
# shellcheck disable=SC2086 # FERRY_BENCH_ENV is a list of NAME=value words
env ${FERRY_BENCH_ENV:-} dotnet "$FERRY" serve --data "$WORK/data" --urls "http://127.0.0.1:$PORT" > "$WORK/serve.log" 2>&1 < /dev/null & SERVE=$!
for _ in $(seq 1 150); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break; sleep 0.2; done
curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null || { cat "$WORK/serve.log" >&2; exit 1; }
FERRY_TOKEN=$(awk -F= '/export FERRY_TOKEN/{print $2}' "$WORK/serve.log"); export FERRY_TOKEN

memory() {
  printf '%-28s RSS %6.1f MB  ' "$1" "$(awk '/VmRSS/{print $2 / 1024}' "/proc/$SERVE/status")"
  awk '/^[0-9a-f]/ { name = $6 }
       /^Rss:/ { part = name == "" ? "anon" : name ~ /doublemapper/ ? "doublemapper" : name ~ /\.dll$/ ? "dll" : "other"; kb[part] += $2 }
       END { printf "doublemapper %.1f  anon %.1f  dll %.1f  other %.1f\n", kb["doublemapper"] / 1024, kb["anon"] / 1024, kb["dll"] / 1024, kb["other"] / 1024 }' "/proc/$SERVE/smaps"
}

memory "start"
for i in $(seq 1 "$DEPLOYS"); do
  echo "// deploy $i" >> "$WORK/project/jobs/upsert-cases.csx"
  dotnet "$FERRY" deploy "$WORK/project" --server "http://127.0.0.1:$PORT" --yes > "$WORK/deploy.log" 2>&1 || { cat "$WORK/deploy.log" >&2; exit 1; }
  if [ $((i % EVERY)) = 0 ]; then memory "after $i deploys"; fi
done
sleep "$IDLE"
memory "after $IDLE s idle"
grep "Let go of" "$WORK/serve.log" | sed 's/^/    /' || true
