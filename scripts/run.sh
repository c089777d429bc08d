#!/usr/bin/env bash
# THE run command: build the dashboard and the relay, then serve both.
#   bash scripts/run.sh [relay flags...]
# Extra arguments go to the relay, e.g. `bash scripts/run.sh --brokers 127.0.0.1:9092`.
# Without --brokers (or RELAY_BROKERS) the relay uses its embedded bus.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/setup.sh
source "$ROOT/scripts/setup.sh"

need_wasm_tools

TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
# trunk parses NO_COLOR as a bool and refuses the common NO_COLOR=1.
if [[ -n "${NO_COLOR:-}" ]]; then export NO_COLOR=true; fi

echo "[run] building the dashboard: trunk build --release"
trunk build --release
echo "[run] building the relay: cargo build --release -p relay"
cargo build --release -p relay

# Where the relay will listen: the last --listen/--listen=... argument, else RELAY_LISTEN,
# else the relay's default.
listen="${RELAY_LISTEN:-127.0.0.1:3000}"
prev=""
for a in "$@"; do
  case "$a" in
    --listen=*) listen="${a#--listen=}" ;;
    *) [[ "$prev" == "--listen" ]] && listen="$a" ;;
  esac
  prev="$a"
done
host="${listen%:*}"
port="${listen##*:}"
case "$host" in
  0.0.0.0 | "" | "[::]") host="127.0.0.1" ;;
esac

echo
echo "[run] EditPulse dashboard: http://$host:$port/"
echo "[run] (Ctrl-C stops the relay)"
echo
exec "$TARGET_DIR/release/relay" --static-dir "$ROOT/dist" "$@"
