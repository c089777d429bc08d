#!/usr/bin/env bash
# EditPulse tool set-up: idempotent, every install guarded by a "skip if present" check.
#
# Source it and call what you need:
#   need_wasm_tools   wasm32 target, trunk, wasm-bindgen-cli (= app's pin), binaryen (wasm-opt),
#                     brotli (scripts/precompress.sh, trunk's post_build hook)
#   need_browser      Debian chromium + chromium-driver (app component tests, e2e dashboard tests)
#   need_compose      Debian docker-compose 1.29 (validates docker-compose.yml; brings python3-yaml)
#   need_broker       rustup toolchain NISSHI_RUST + nisshi (Kafka-protocol broker for tests)
#   need_fuzz         a nightly toolchain + cargo-fuzz (fuzz smoke runs)
#   need_prometheus   Debian prometheus 2.42 (prometheus + promtool: the /metrics tests)
#   need_all          all of the above
# or run it: `bash scripts/setup.sh [wasm|browser|compose|broker|fuzz|prometheus|all]`
# (default: all).
#
# Progress lines start with "[setup]" and go to stdout, and also to fd $SETUP_SAY_FD when that
# is set (scripts/test.sh points it at the console while the full output goes to a log).

# Versions. wasm-bindgen-cli's is not here: it is read from app/Cargo.toml's `=` pin.
TRUNK_VERSION="${TRUNK_VERSION:-0.21.14}"
NISSHI_VERSION="${NISSHI_VERSION:-0.8.1}"
NISSHI_RUST="${NISSHI_RUST:-1.96.1}"
NISSHI_FEATURES="dynostore,libsql"
CARGO_FUZZ_VERSION="${CARGO_FUZZ_VERSION:-0.13.2}"
# The nightly fuzzing builds with: the machine's own `nightly` when it has one, else this one.
FUZZ_NIGHTLY_PINNED="${FUZZ_NIGHTLY_PINNED:-nightly-2026-05-19}"

SETUP_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
case ":$PATH:" in
  *":$HOME/.cargo/bin:"*) ;;
  *) export PATH="$HOME/.cargo/bin:$PATH" ;;
esac

say() {
  printf '[setup] %s\n' "$*"
  if [[ -n "${SETUP_SAY_FD:-}" ]]; then printf '[setup] %s\n' "$*" >&"$SETUP_SAY_FD"; fi
}

# timed LABEL CMD...: run CMD, report how long it took; returns CMD's status.
timed() {
  local label=$1 start rc
  shift
  say "installing $label: $*"
  start=$(date +%s)
  "$@"
  rc=$?
  if [[ $rc -eq 0 ]]; then
    say "installed $label in $(( $(date +%s) - start ))s"
  else
    say "FAILED to install $label (exit $rc) after $(( $(date +%s) - start ))s"
  fi
  return "$rc"
}

# The exact wasm-bindgen version app/Cargo.toml pins (`wasm-bindgen = "=X.Y.Z"`).
wasm_bindgen_pin() {
  local v
  v=$(grep -E '^[[:space:]]*wasm-bindgen[[:space:]]*=' "$SETUP_ROOT/app/Cargo.toml" \
        | grep -oE '"=[0-9]+\.[0-9]+\.[0-9]+"' | head -n1 | tr -d '"=')
  if [[ -z "$v" ]]; then
    echo "setup: no exact wasm-bindgen pin (wasm-bindgen = \"=X.Y.Z\") in app/Cargo.toml" >&2
    return 1
  fi
  printf '%s\n' "$v"
}

_apt_updated=""
# apt_need [--no-install-recommends] PKG...: install the Debian packages that are not installed
# yet, in one go.
apt_need() {
  local missing=() p opts=()
  if [[ "${1:-}" == --no-install-recommends ]]; then
    opts+=("$1")
    shift
  fi
  for p in "$@"; do
    if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
      say "$p present (Debian $(dpkg-query -W -f='${Version}' "$p"))"
    else
      missing+=("$p")
    fi
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  local sudo=""
  [[ $(id -u) -ne 0 ]] && sudo="sudo"
  if [[ -z "$_apt_updated" ]]; then
    timed "apt package lists" $sudo apt-get update -q || return 1
    _apt_updated=1
  fi
  timed "${missing[*]} (apt)" $sudo env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q "${opts[@]}" "${missing[@]}"
}

need_wasm_tools() {
  local pin
  pin=$(wasm_bindgen_pin) || return 1

  if rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    say "rust target wasm32-unknown-unknown present"
  else
    timed "rust target wasm32-unknown-unknown" rustup target add wasm32-unknown-unknown || return 1
  fi

  if [[ "$(trunk --version 2>/dev/null)" == "trunk $TRUNK_VERSION" ]]; then
    say "trunk $TRUNK_VERSION present"
  else
    timed "trunk $TRUNK_VERSION" cargo install --locked "trunk@$TRUNK_VERSION" || return 1
  fi

  # Not --locked: wasm-bindgen-cli's lock file names a webpki-roots release the registry
  # mirror here lacks. wasm-bindgen-test-runner comes with it.
  if [[ "$(wasm-bindgen --version 2>/dev/null)" == "wasm-bindgen $pin" ]] \
     && command -v wasm-bindgen-test-runner >/dev/null; then
    say "wasm-bindgen-cli $pin present (matches app/Cargo.toml)"
  else
    timed "wasm-bindgen-cli $pin" cargo install --force "wasm-bindgen-cli@$pin" || return 1
  fi

  # binaryen: wasm-opt, so trunk --release never tries to download one. brotli: the CLI
  # scripts/precompress.sh compresses the release build with.
  apt_need binaryen brotli
}

need_browser() {
  apt_need chromium chromium-driver
}

need_compose() {
  apt_need docker-compose
}

need_broker() {
  if rustup toolchain list 2>/dev/null | grep -q "^$NISSHI_RUST-"; then
    say "rust toolchain $NISSHI_RUST present"
  else
    timed "rust toolchain $NISSHI_RUST" rustup toolchain install "$NISSHI_RUST" --profile minimal \
      || return 1
  fi

  if command -v nisshi >/dev/null && nisshi --version 2>/dev/null | grep -qF "$NISSHI_VERSION"; then
    say "nisshi $NISSHI_VERSION present ($(command -v nisshi))"
  elif cargo install --list 2>/dev/null | grep -q "^nisshi v$NISSHI_VERSION:" \
       && [[ -x "$HOME/.cargo/bin/nisshi" ]]; then
    say "nisshi $NISSHI_VERSION present ($HOME/.cargo/bin/nisshi)"
  else
    timed "nisshi $NISSHI_VERSION" cargo "+$NISSHI_RUST" install --locked "nisshi@$NISSHI_VERSION" \
      --no-default-features --features "$NISSHI_FEATURES" || return 1
  fi
}

# The nightly toolchain name fuzzing uses (printed), installing the pinned one if none is there.
fuzz_toolchain() {
  if rustup run nightly rustc --version >/dev/null 2>&1; then
    printf 'nightly\n'
  elif rustup run "$FUZZ_NIGHTLY_PINNED" rustc --version >/dev/null 2>&1; then
    printf '%s\n' "$FUZZ_NIGHTLY_PINNED"
  else
    timed "rust toolchain $FUZZ_NIGHTLY_PINNED" rustup toolchain install "$FUZZ_NIGHTLY_PINNED" \
      --profile minimal >&2 || return 1
    printf '%s\n' "$FUZZ_NIGHTLY_PINNED"
  fi
}

need_fuzz() {
  local tc
  tc=$(fuzz_toolchain) || return 1
  say "fuzzing toolchain: $tc ($(rustup run "$tc" rustc --version))"
  if cargo install --list 2>/dev/null | grep -q "^cargo-fuzz v$CARGO_FUZZ_VERSION:"; then
    say "cargo-fuzz $CARGO_FUZZ_VERSION present"
  else
    timed "cargo-fuzz $CARGO_FUZZ_VERSION" cargo install --locked "cargo-fuzz@$CARGO_FUZZ_VERSION" || return 1
  fi
}

# The tests run their own Prometheus servers on free ports; the package's service (on :9090)
# is not wanted. Its recommends (node exporter, smartmontools, ...) are not needed either.
need_prometheus() {
  apt_need --no-install-recommends prometheus || return 1
  # Containers without systemd deny the service its start (policy-rc.d); where it did start,
  # stop it and keep it from starting at boot.
  if [[ -d /run/systemd/system ]] && systemctl is-active --quiet prometheus 2>/dev/null; then
    local sudo=""
    [[ $(id -u) -ne 0 ]] && sudo="sudo"
    say "stopping the prometheus service the package started (tests use their own servers)"
    $sudo systemctl disable --now prometheus || return 1
  fi
  command -v promtool >/dev/null || { say "promtool missing after installing prometheus"; return 1; }
}

need_all() {
  local start rc=0
  start=$(date +%s)
  need_wasm_tools || rc=1
  need_browser || rc=1
  need_compose || rc=1
  need_broker || rc=1
  need_fuzz || rc=1
  need_prometheus || rc=1
  say "set-up finished in $(( $(date +%s) - start ))s$([[ $rc -ne 0 ]] && echo ' WITH FAILURES')"
  return "$rc"
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  set -uo pipefail
  case "${1:-all}" in
    wasm) need_wasm_tools ;;
    browser) need_browser ;;
    compose) need_compose ;;
    broker) need_broker ;;
    fuzz) need_fuzz ;;
    prometheus) need_prometheus ;;
    all) need_all ;;
    *) echo "usage: $0 [wasm|browser|compose|broker|fuzz|prometheus|all]" >&2; exit 2 ;;
  esac
fi
