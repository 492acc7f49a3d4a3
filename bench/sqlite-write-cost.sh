#!/usr/bin/env bash
# Instructions SQLite spends on one work order's writes (intake, claim, completion) for two schema versions, counted by
# callgrind: deterministic, so schema changes can be compared on a noisy shared machine where timings move ±20 %.
# Usage: bench/sqlite-write-cost.sh [old version] [new version] [work orders]   (needs valgrind: apt-get install -y valgrind;
# Debian's python3 and its libsqlite3, which is not the SQLite build Ferry ships, so compare ratios, not absolute counts)
set -euo pipefail
cd "$(dirname "$0")"
OLD=${1:-5}; NEW=${2:-6}; COUNT=${3:-6400}
WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT
PY=/usr/bin/python3 # the interpreter itself: callgrind does not follow a shim script (pyenv) into the real one
cost() {
  valgrind --tool=callgrind --callgrind-out-file="$WORK/out.$1" "$PY" sqlite/write_path.py "$1" "$COUNT" "$WORK/db$1" >/dev/null 2>&1
  callgrind_annotate --inclusive=yes "$WORK/out.$1" > "$WORK/annotated.$1" 2>/dev/null
  awk '/sqlite3_step \[/ && !done {gsub(",", "", $1); print $1; done = 1}' "$WORK/annotated.$1"
}
A=$(cost "$OLD"); B=$(cost "$NEW")
awk -v a="$A" -v b="$B" -v n="$COUNT" -v o="$OLD" -v v="$NEW" 'BEGIN {
  printf "schema %s: %8.0f instructions in sqlite3_step per work order (intake + claim + completion)\n", o, a / n
  printf "schema %s: %8.0f instructions in sqlite3_step per work order; ratio %.2f\n", v, b / n, b / a }'
