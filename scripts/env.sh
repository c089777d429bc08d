# shellcheck shell=bash
# Sourced by scripts/test.sh and scripts/bench.sh: sets ROOT (the repository, also made the
# working directory) and TARGET_DIR (cargo's target directory, CARGO_TARGET_DIR or
# <repo>/target), exports EDITPULSE_ARTIFACTS (default <repo>/artifacts), and sources
# scripts/setup.sh for its need_* installers.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || return 1
# shellcheck source=scripts/setup.sh
source "$ROOT/scripts/setup.sh"

TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
export EDITPULSE_ARTIFACTS="${EDITPULSE_ARTIFACTS:-$ROOT/artifacts}"
