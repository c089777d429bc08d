#!/usr/bin/env bash
# shellcheck disable=SC2317  # step functions are called indirectly ("__step NAME")
# THE test command: installs what is missing, starts a Kafka-protocol broker (nisshi) on a free
# loopback port, then runs every check, each step timed and logged, and goes on after a
# failure so the summary is complete. Exits non-zero if any step failed.
#   bash scripts/test.sh
# Logs: artifacts/logs/<step>.log (the tail of a failing step's log is printed).
# Environment knobs: EDITPULSE_ARTIFACTS (default <repo>/artifacts), CARGO_TARGET_DIR.
set -uo pipefail

# shellcheck source=scripts/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh" || exit 1
LOGS="$EDITPULSE_ARTIFACTS/logs"
export EDITPULSE_DIST="$ROOT/dist"
export EDITPULSE_RELAY_BIN="$TARGET_DIR/release/relay"
export CHROMEDRIVER=/usr/bin/chromedriver
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
export RUST_BACKTRACE="${RUST_BACKTRACE:-1}"
# Plain logs from tracing-subscriber and friends. "true", not "1": trunk parses NO_COLOR as a bool.
export NO_COLOR=true

# A recorded event the smoke step posts (a fresh id and time are put in).
SAMPLE_EVENTS="$ROOT/data/recentchange-2024-02-06-all-wikis.jsonl"

# ---------------------------------------------------------------------------------------------
# helpers

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

port_open() { # port_open PORT: does something accept TCP on 127.0.0.1:PORT?
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# A python3 that can `import yaml` (pyenv's may not; Debian's python3-yaml comes with
# docker-compose).
yaml_python() {
  local p
  for p in python3 /usr/bin/python3; do
    if "$p" -c 'import yaml' 2>/dev/null; then
      printf '%s\n' "$p"
      return 0
    fi
  done
  echo "no python3 with the yaml module (apt-get install python3-yaml)" >&2
  return 1
}

# The relay service's environment as docker-compose resolves it: KEY=VALUE, NUL-separated.
compose_relay_env() {
  local py
  py=$(yaml_python) || return 1
  docker-compose -f "$ROOT/docker-compose.yml" config | "$py" -c '
import sys, yaml
doc = yaml.safe_load(sys.stdin)
env = doc["services"]["relay"].get("environment") or {}
if isinstance(env, list):
    env = dict(e.split("=", 1) if "=" in e else (e, "") for e in env)
for k, v in env.items():
    sys.stdout.write("%s=%s\0" % (k, "" if v is None else v))
'
}

# stop_pid PID SECONDS: SIGTERM, wait up to SECONDS, then SIGKILL. Returns 0 if it exited in time.
stop_pid() {
  local pid=$1 secs=$2 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < secs * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null
  return 1
}

# ---------------------------------------------------------------------------------------------
# the broker (started in this shell: it lives for the whole run)

BROKER_PID=""
BROKER_DIR=""

start_broker() {
  local nisshi port i
  nisshi=$(command -v nisshi) || { echo "nisshi is not installed (the setup step failed?)"; return 1; }
  BROKER_DIR=$(mktemp -d "${TMPDIR:-/tmp}/editpulse-broker.XXXXXX")
  port=$(free_port)
  echo "starting $nisshi broker on 127.0.0.1:$port, storage $BROKER_DIR/broker.db"
  # nisshi takes the sqlite path relative to its working directory: run it inside BROKER_DIR.
  (
    cd "$BROKER_DIR" || exit 1
    exec "$nisshi" broker \
      --listener-url "tcp://127.0.0.1:$port" \
      --advertised-listener-url "tcp://127.0.0.1:$port" \
      --storage-engine "sqlite://broker.db" \
      --group-initial-rebalance-delay 0s
  ) </dev/null >"$LOGS/nisshi.log" 2>&1 &
  BROKER_PID=$!
  for ((i = 0; i < 300; i++)); do
    if port_open "$port"; then
      export EDITPULSE_BROKERS="127.0.0.1:$port"
      export EDITPULSE_NISSHI="$nisshi"
      echo "broker ready on $EDITPULSE_BROKERS after ~$((i * 100)) ms (pid $BROKER_PID)"
      return 0
    fi
    if ! kill -0 "$BROKER_PID" 2>/dev/null; then
      echo "nisshi exited before listening; its log ($LOGS/nisshi.log):"
      tail -n 40 "$LOGS/nisshi.log"
      return 1
    fi
    sleep 0.1
  done
  echo "nisshi did not listen on 127.0.0.1:$port within 30 s; its log:"
  tail -n 40 "$LOGS/nisshi.log"
  return 1
}

stop_broker() {
  if [[ -n "$BROKER_PID" ]]; then
    stop_pid "$BROKER_PID" 5 || echo "nisshi (pid $BROKER_PID) ignored SIGTERM; killed"
    wait "$BROKER_PID" 2>/dev/null
    BROKER_PID=""
  fi
  if [[ -n "$BROKER_DIR" ]]; then
    rm -rf "$BROKER_DIR"
    BROKER_DIR=""
  fi
}

# ---------------------------------------------------------------------------------------------
# steps (each runs in its own `bash scripts/test.sh __step NAME` with `set -e`, output to its log)

step_setup() { need_all; }

step_fmt() { cargo fmt --all --check -- --color never; }

step_clippy_host() { cargo clippy --workspace --all-targets -- -D warnings; }

step_clippy_wasm() {
  cargo clippy -p app --target wasm32-unknown-unknown --all-targets -- -D warnings
}

step_trunk_build() {
  trunk build --release
  test -f "$EDITPULSE_DIST/index.html" || { echo "trunk left no $EDITPULSE_DIST/index.html"; return 1; }
  # Trunk.toml's post_build hook (scripts/precompress.sh) compresses the build.
  compgen -G "$EDITPULSE_DIST/*.wasm.br" >/dev/null && compgen -G "$EDITPULSE_DIST/*.wasm.gz" >/dev/null \
    || { echo "no $EDITPULSE_DIST/*.wasm.br and .gz: did scripts/precompress.sh run?"; return 1; }
  ls -l "$EDITPULSE_DIST"
}

step_build_relay() {
  cargo build --release -p relay
  test -x "$EDITPULSE_RELAY_BIN" || { echo "no relay binary at $EDITPULSE_RELAY_BIN"; return 1; }
}

step_test() {
  echo "EDITPULSE_BROKERS=${EDITPULSE_BROKERS:-<unset>} EDITPULSE_NISSHI=${EDITPULSE_NISSHI:-<unset>}"
  echo "EDITPULSE_RELAY_BIN=$EDITPULSE_RELAY_BIN EDITPULSE_DIST=$EDITPULSE_DIST"
  cargo test --workspace --no-fail-fast
}

step_app_wasm_test() {
  CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
    cargo test -p app --target wasm32-unknown-unknown
}

step_compose_config() {
  docker-compose -f "$ROOT/docker-compose.yml" config
}

# The relay run with the environment docker-compose.yml gives the relay service, except:
# RELAY_BROKERS -> the test broker, RELAY_LISTEN -> a free loopback port, and the two
# container paths (RELAY_STATIC_DIR=/app/dist, RELAY_STATE_DIR=/var/lib/editpulse) -> the
# dist/ trunk built and a temp dir.
step_compose_relay() {
  [[ -x "$EDITPULSE_RELAY_BIN" ]] || { echo "no relay binary at $EDITPULSE_RELAY_BIN (build-relay failed?)"; return 1; }
  [[ -n "${EDITPULSE_BROKERS:-}" ]] || { echo "no test broker (the broker step failed?)"; return 1; }

  local envfile port state relay_log pid code i token kv
  envfile=$(mktemp)
  compose_relay_env >"$envfile"
  port=$(free_port)
  state=$(mktemp -d "${TMPDIR:-/tmp}/editpulse-state.XXXXXX")
  relay_log="$LOGS/compose-relay.relay.log"

  # Only the compose file's RELAY_* variables, none inherited from the caller.
  while IFS= read -r v; do unset "$v"; done < <(compgen -e | grep '^RELAY_' || true)
  echo "relay environment from docker-compose.yml:"
  while IFS= read -r -d '' kv; do
    echo "  $kv"
    export "${kv?}"
  done <"$envfile"
  rm -f "$envfile"
  [[ -n "${RELAY_BROKERS:-}" ]] || { echo "docker-compose.yml sets no RELAY_BROKERS for relay"; return 1; }
  token="${RELAY_INGEST_TOKEN:?docker-compose.yml sets no RELAY_INGEST_TOKEN for relay}"
  export RELAY_BROKERS="$EDITPULSE_BROKERS" RELAY_LISTEN="127.0.0.1:$port"
  export RELAY_STATIC_DIR="$EDITPULSE_DIST" RELAY_STATE_DIR="$state"
  echo "overridden: RELAY_BROKERS=$RELAY_BROKERS RELAY_LISTEN=$RELAY_LISTEN" \
    "RELAY_STATIC_DIR=$RELAY_STATIC_DIR RELAY_STATE_DIR=$RELAY_STATE_DIR"

  "$EDITPULSE_RELAY_BIN" </dev/null >"$relay_log" 2>&1 &
  pid=$!
  # shellcheck disable=SC2064 # expand now: pid and state are local
  trap "kill -KILL $pid 2>/dev/null || true; rm -rf '$state'" EXIT
  local fail=""
  local base="http://127.0.0.1:$port"

  code=000
  for ((i = 0; i < 300; i++)); do
    code=$(curl -s -o "$state/health.json" -w '%{http_code}' --max-time 2 "$base/v1/health" || true)
    [[ "$code" == 200 ]] && break
    kill -0 "$pid" 2>/dev/null || { fail="relay exited before it was healthy"; break; }
    sleep 0.1
  done
  if [[ -z "$fail" && "$code" != 200 ]]; then fail="GET /v1/health answered $code, not 200, for 30 s"; fi

  if [[ -z "$fail" ]]; then
    echo "GET /v1/health -> 200 after ~$((i * 100)) ms:"
    cat "$state/health.json"; echo
    local kind
    kind=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["bus"]["kind"])' \
             "$state/health.json" 2>&1) || true
    [[ "$kind" == kafka ]] || fail="health says bus.kind == '$kind', want 'kafka' (RELAY_BROKERS not honoured?)"
  fi

  if [[ -z "$fail" ]]; then
    # One recorded event, with a fresh id and time so it is neither a duplicate nor too late.
    python3 - "$SAMPLE_EVENTS" >"$state/event.json" <<'PY'
import json, sys, time, uuid
with open(sys.argv[1]) as f:
    ev = next(json.loads(l) for l in f if '"type":"edit"' in l.replace(" ", ""))
now = time.time()
ev["timestamp"] = int(now)
ev["meta"]["dt"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
ev["meta"]["id"] = str(uuid.uuid4())
json.dump(ev, sys.stdout)
PY
    code=$(curl -s -o "$state/post.out" -w '%{http_code}' --max-time 10 \
             -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
             --data-binary @"$state/event.json" "$base/v1/events" || true)
    echo "POST /v1/events (Authorization: Bearer <RELAY_INGEST_TOKEN>) -> $code: $(head -c 500 "$state/post.out")"
    [[ "$code" == 202 ]] || fail="POST /v1/events answered $code, want 202"
  fi

  if kill -0 "$pid" 2>/dev/null; then
    if stop_pid "$pid" 15; then
      local st=0
      wait "$pid" || st=$?
      echo "relay stopped on SIGTERM (exit $st)"
    else
      [[ -n "$fail" ]] || fail="relay did not exit within 15 s of SIGTERM (killed)"
    fi
  fi
  echo "--- relay log ($relay_log), last 40 lines:"
  tail -n 40 "$relay_log"
  if [[ -n "$fail" ]]; then
    echo "FAIL: $fail"
    return 1
  fi
}

# Each parser fuzzed for 10 s: enough to catch a regression that crashes on common shapes.
step_fuzz_smoke() { bash "$ROOT/scripts/fuzz.sh" 10; }

# The benchmark's quick mode (tiny sizes, one repetition), so the bench command cannot rot.
step_bench_quick() { bash "$ROOT/scripts/bench.sh" --quick; }

# ---------------------------------------------------------------------------------------------
# internal: run one step function (used by run_step below)
if [[ "${1:-}" == "__step" ]]; then
  set -e
  "$2"
  exit 0
fi

# ---------------------------------------------------------------------------------------------
# the run

mkdir -p "$LOGS"
exec 3>&1
export SETUP_SAY_FD=3

STEP_NAMES=()
STEP_RESULTS=()
STEP_SECS=()
FAILED=0
CURRENT_STEP_PID=""
RUN_START=$(date +%s)

record() { # record NAME RESULT SECONDS
  STEP_NAMES+=("$1")
  STEP_RESULTS+=("$2")
  STEP_SECS+=("$3")
  [[ "$2" == PASS || "$2" == SKIP ]] || FAILED=1
}

show_failure() { # show_failure NAME LOG
  local name=$1 log=$2
  echo "    ---- $name failed; last lines of $log:"
  if [[ "$name" == test || "$name" == app-wasm-test ]]; then
    # The failing tests' own output first (cargo test's "failures:" sections).
    awk '/^failures:$/ {p = 1} p {print} /^test result:/ {p = 0}' "$log" | head -n 200 | sed 's/^/    | /'
    echo "    ...."
  fi
  tail -n 60 "$log" | sed 's/^/    | /'
  echo "    ----"
}

# run_step NAME FUNCTION TIMEOUT_MINUTES
run_step() {
  local name=$1 fn=$2 minutes=$3 log="$LOGS/$1.log" start rc result secs
  printf '==> %-16s ' "$name"
  [[ "$name" == setup ]] && echo
  start=$(date +%s)
  timeout -k 30 "$((minutes * 60))" bash "$ROOT/scripts/test.sh" __step "$fn" </dev/null >"$log" 2>&1 &
  CURRENT_STEP_PID=$!
  wait "$CURRENT_STEP_PID"
  rc=$?
  # timeout ran the step in its own process group (id = its pid): stop whatever the step left
  # running there (an orphaned browser, say) so it cannot disturb the next steps.
  local leftover=""
  if kill -0 -- "-$CURRENT_STEP_PID" 2>/dev/null; then
    leftover=1
    {
      echo "[test.sh] step $name left processes running; stopping them:"
      ps -eo pid,pgid,args | awk -v g="$CURRENT_STEP_PID" '$2 == g'
    } >>"$log" 2>&1
    kill -TERM -- "-$CURRENT_STEP_PID" 2>/dev/null
    sleep 1
    kill -KILL -- "-$CURRENT_STEP_PID" 2>/dev/null
  fi
  CURRENT_STEP_PID=""
  secs=$(( $(date +%s) - start ))
  case $rc in
    0) result=PASS ;;
    77) result=SKIP ;;
    124 | 137) result=TIMEOUT ;;
    *) result=FAIL ;;
  esac
  [[ "$name" == setup ]] && printf '==> %-16s ' "$name"
  echo "$result (${secs}s)"
  [[ -n "$leftover" ]] && echo "    note: $name left processes running; stopped them (listed in its log)"
  [[ "$result" == FAIL || "$result" == TIMEOUT ]] && show_failure "$name" "$log"
  record "$name" "$result" "$secs"
}

cleanup() {
  if [[ -n "$CURRENT_STEP_PID" ]]; then kill -TERM "$CURRENT_STEP_PID" 2>/dev/null; fi
  stop_broker
}
trap cleanup EXIT
trap 'echo; echo "interrupted"; exit 130' INT TERM

echo "EditPulse test run: $(date -u +%Y-%m-%dT%H:%M:%SZ), logs in $LOGS"

run_step setup step_setup 50

printf '==> %-16s ' broker
start=$(date +%s)
if start_broker >"$LOGS/broker.log" 2>&1; then
  echo "PASS ($(( $(date +%s) - start ))s) $EDITPULSE_BROKERS"
  record broker PASS $(( $(date +%s) - start ))
else
  echo "FAIL ($(( $(date +%s) - start ))s)"
  show_failure broker "$LOGS/broker.log"
  record broker FAIL $(( $(date +%s) - start ))
fi

run_step fmt step_fmt 5
run_step clippy-host step_clippy_host 30
run_step clippy-wasm step_clippy_wasm 30
run_step trunk-build step_trunk_build 30
run_step build-relay step_build_relay 30
run_step test step_test 45
run_step app-wasm-test step_app_wasm_test 20
run_step compose-config step_compose_config 2
run_step compose-relay step_compose_relay 3
run_step fuzz-smoke step_fuzz_smoke 15
run_step bench-quick step_bench_quick 25

# ---------------------------------------------------------------------------------------------
# summary
total=$(( $(date +%s) - RUN_START ))
passed=0
failed=0
while read -r p f; do
  passed=$((passed + p))
  failed=$((failed + f))
done < <(cat "$LOGS/test.log" "$LOGS/app-wasm-test.log" 2>/dev/null \
           | sed -nE 's/^test result: [A-Za-z]+\. ([0-9]+) passed; ([0-9]+) failed.*/\1 \2/p')

echo
echo "Summary"
printf '  %-16s %-8s %8s\n' step result seconds
printf '  %-16s %-8s %8s\n' ---------------- -------- --------
for i in "${!STEP_NAMES[@]}"; do
  printf '  %-16s %-8s %8s\n' "${STEP_NAMES[$i]}" "${STEP_RESULTS[$i]}" "${STEP_SECS[$i]}"
done
printf '  %-16s %-8s %8s\n' total "$([[ $FAILED -eq 0 ]] && echo PASS || echo FAIL)" "$total"
echo "  logs: $LOGS"
echo
echo "tests: $passed passed, $failed failed"
exit "$FAILED"
