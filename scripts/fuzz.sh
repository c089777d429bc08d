#!/usr/bin/env bash
# Fuzzes the three parsers of codec/ (event, SSE frame, NDJSON batch splitter) with cargo fuzz.
#   bash scripts/fuzz.sh [SECONDS_PER_TARGET]     (default 60; the test command runs 10)
# Seeds come from the bundled recordings. Exits non-zero on the first finding; the crashing
# input is left in fuzz/artifacts/<target>/ and the command to replay it is printed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/setup.sh
source "$ROOT/scripts/setup.sh"
need_fuzz
TC=$(fuzz_toolchain)
SECS="${1:-60}"
cd "$ROOT/fuzz"

seed() { # seed TARGET: a few real inputs, so fuzzing starts from the shapes that matter
  local dir="corpus/$1"
  mkdir -p "$dir"
  [[ -n "$(ls -A "$dir")" ]] && return 0
  case "$1" in
    event_parser) head -n 20 "$ROOT/data/recentchange-2024-02-06-all-wikis.jsonl" | split -l 1 - "$dir/seed-" ;;
    ndjson_split) head -c 4000 "$ROOT/data/recentchange-2024-02-07-all-wikis.jsonl" >"$dir/seed" ;;
    sse_parse)
      printf 'event: message\nid: [{"topic":"eqiad.mediawiki.recentchange","partition":0,"timestamp":1}]\ndata: %s\n\n' \
        "$(head -n 1 "$ROOT/data/recentchange-2024-02-06-all-wikis.jsonl")" >"$dir/seed" ;;
  esac
}

for target in event_parser sse_parse ndjson_split; do
  seed "$target"
  echo "== fuzzing $target for ${SECS}s ($TC)"
  log=$(mktemp)
  if ! cargo "+$TC" fuzz run "$target" -- -max_total_time="$SECS" -rss_limit_mb=2048 >"$log" 2>&1; then
    tail -n 40 "$log"
    echo "FAIL: $target found a crash; replay it with: (cd fuzz && cargo +$TC fuzz run $target artifacts/$target/<file>)"
    exit 1
  fi
  grep -E '^Done [0-9]+ runs' "$log" | sed "s/^/$target: /"
  rm -f "$log"
done
