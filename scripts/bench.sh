#!/usr/bin/env bash
# THE benchmark command: builds the relay and editpulse-bench in release, makes sure nisshi and
# the Quix Streams venv are there, then runs every benchmark (see BENCHMARKS.md).
#   bash scripts/bench.sh [--quick] [editpulse-bench flags, e.g. --only counter --json PATH]
# stdout: one `name value unit` line per metric; everything else goes to stderr.
# JSON: <artifacts>/bench.json (EDITPULSE_ARTIFACTS, default <repo>/artifacts), or --json PATH.
# Exit status: non-zero if a build, a set-up step or a benchmark part failed (a missed target
# is reported, never a failure). --quick (tiny sizes, 1 repetition) is what scripts/test.sh runs.
# Knobs: CARGO_TARGET_DIR (as cargo), EDITPULSE_NISSHI, EDITPULSE_BENCH_SKIP=quix,fanout,...,
#        EDITPULSE_QUIX_VENV (default ~/.cache/editpulse-bench/quix-venv-<hash of requirements>).
set -uo pipefail

# shellcheck source=scripts/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh" || exit 1
mkdir -p "$EDITPULSE_ARTIFACTS/logs"
REQUIREMENTS="$ROOT/bench/quix-requirements.txt"

log() { printf '[bench.sh] %s\n' "$*" >&2; }

# The venv for the Quix Streams peer benchmark (bench/quix_count.py), pinned by
# bench/quix-requirements.txt; rebuilt when the pins change.
quix_venv() {
  local hash venv start
  hash=$(sha256sum "$REQUIREMENTS" | cut -c1-12)
  venv="${EDITPULSE_QUIX_VENV:-$HOME/.cache/editpulse-bench/quix-venv-$hash}"
  if [[ -f "$venv/.installed" && -x "$venv/bin/python" ]]; then
    log "quix venv present ($venv)"
  else
    start=$(date +%s)
    log "creating quix venv $venv from bench/quix-requirements.txt"
    rm -rf "$venv"
    mkdir -p "$(dirname "$venv")"
    python3 -m venv "$venv" >&2 || return 1
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$REQUIREMENTS" >&2 || return 1
    touch "$venv/.installed"
    log "quix venv installed in $(( $(date +%s) - start ))s"
  fi
  QUIX_PYTHON="$venv/bin/python"
}

start=$(date +%s)
SETUP_SAY_FD="" need_broker >&2 || { log "FAILED: nisshi is not installed"; exit 1; }
export EDITPULSE_NISSHI="${EDITPULSE_NISSHI:-$(command -v nisshi)}"

QUIX_PYTHON=""
if [[ ",${EDITPULSE_BENCH_SKIP:-}," == *",quix,"* ]]; then
  log "quix skipped (EDITPULSE_BENCH_SKIP)"
else
  quix_venv || { log "FAILED: cannot set up the Quix Streams venv"; exit 1; }
fi

log "building: cargo build --release -p relay && cargo build --release -p editpulse-bench"
cargo build --release -p relay >&2 || { log "FAILED: relay build"; exit 1; }
cargo build --release -p editpulse-bench >&2 || { log "FAILED: editpulse-bench build"; exit 1; }
log "set-up and builds took $(( $(date +%s) - start ))s"

args=(--relay-bin "$TARGET_DIR/release/relay")
[[ -n "$QUIX_PYTHON" ]] && args+=(--quix-python "$QUIX_PYTHON")

# The dashboard part measures what this checkout builds: trunk's release build (wasm size; its
# post_build hook writes the .br/.gz copies), the first load of it from the relay in headless
# Chromium (editpulse-bench does that) and the chart's redraw in headless Chromium
# (app/tests/redraw_bench.rs), whose output is handed to editpulse-bench. Skipped with the part (EDITPULSE_BENCH_SKIP, or an --only without it).
wants_dashboard() {
  [[ ",${EDITPULSE_BENCH_SKIP:-}," == *",dashboard,"* ]] && return 1
  local a only=""
  for a in "$@"; do [[ "$a" == --only* ]] && only=1; done
  [[ -z "$only" || " $* " == *dashboard* ]]
}
if wants_dashboard "$@"; then
  dash_start=$(date +%s)
  { SETUP_SAY_FD="" need_wasm_tools && SETUP_SAY_FD="" need_browser; } >&2 || { log "FAILED: dashboard tools"; exit 1; }
  log "building the dashboard: trunk build --release"
  # trunk parses NO_COLOR as a bool and refuses the common NO_COLOR=1.
  NO_COLOR=true trunk build --release >&2 || { log "FAILED: trunk build --release"; exit 1; }
  redraw_log="$EDITPULSE_ARTIFACTS/redraw_bench.log"
  # Quick mode only checks the part runs: the debug build the test command has already made.
  profile=(--release)
  [[ " $* " == *" --quick "* ]] && profile=()
  log "chart redraw in headless Chromium: cargo test -p app ${profile[*]} --test redraw_bench"
  CHROMEDRIVER="${CHROMEDRIVER:-/usr/bin/chromedriver}" \
    CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
    cargo test -p app --target wasm32-unknown-unknown "${profile[@]}" --test redraw_bench \
    -- --nocapture > "$redraw_log" 2>&1 || { cat "$redraw_log" >&2; log "FAILED: redraw benchmark"; exit 1; }
  args+=(--redraw-log "$redraw_log")
  log "dashboard build and redraw took $(( $(date +%s) - dash_start ))s"
fi
bench_start=$(date +%s)
"$TARGET_DIR/release/editpulse-bench" "${args[@]}" "$@"
rc=$?
log "editpulse-bench exited $rc after $(( $(date +%s) - bench_start ))s"
exit "$rc"
