#!/usr/bin/env bash
# The one bootstrap script. The README's two commands (`npm run demo`, `npm test`) and .ci/run all
# come through here, so a fresh machine with only Node 20 and npm gets the same setup everywhere.
#
#   bash scripts/dev.sh demo                 install, build, start the demo app
#   bash scripts/dev.sh test                 install, build, lint, typecheck, every test suite, the
#                                            library suites on every supported Node, the consumer
#                                            test (packed tarballs), README support table
#   bash scripts/dev.sh bench                install, build, every package's benchmark, docs/benchmarks.*
#   bash scripts/dev.sh fleet                install, build, throwaway PostgreSQL + Redis, the Hono fleet
#   bash scripts/dev.sh services -- CMD...   start throwaway PostgreSQL + Redis, run CMD, stop them
#
# Services: Chromium, Firefox ESR, WebKitGTK, PostgreSQL and Redis come from Debian's apt when missing (needs root or
# passwordless sudo). PostgreSQL and Redis are started on 127.0.0.1, on free ports, in a temp dir,
# and stopped on exit. Set DEVICEBOUND_TEST_PG_URL / DEVICEBOUND_TEST_REDIS_URL to use your own
# instead, and DEVICEBOUND_CHROMIUM to point at a Chromium binary.
set -euo pipefail
export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

log() { printf '[devicebound] %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

# --- pnpm ------------------------------------------------------------------------------------
PNPM_VERSION=$(node -p 'require("./package.json").packageManager.split("@")[1]')
PNPM=()
setup_pnpm() {
  if command -v pnpm >/dev/null 2>&1 && [ "$(pnpm --version 2>/dev/null)" = "$PNPM_VERSION" ]; then
    PNPM=(pnpm)
    return
  fi
  # Corepack reads packageManager from package.json. Its signature check cannot reach its key
  # server on closed networks, so it is skipped; npm's own registry integrity still applies.
  export COREPACK_ENABLE_DOWNLOAD_PROMPT=0 COREPACK_INTEGRITY_KEYS=0
  if command -v corepack >/dev/null 2>&1 && corepack pnpm --version >/dev/null 2>&1; then
    PNPM=(corepack pnpm)
  else
    log "corepack unavailable; using npx pnpm@$PNPM_VERSION"
    PNPM=(npx --yes "pnpm@$PNPM_VERSION")
  fi
  # turbo looks for a `pnpm` binary on PATH, so put a shim there for the chosen launcher.
  local shim
  shim=$(mktemp -d /tmp/devicebound-pnpm.XXXXXX)
  printf '#!/bin/sh\nexec %s "$@"\n' "${PNPM[*]}" >"$shim/pnpm"
  chmod +x "$shim/pnpm"
  export PATH="$shim:$PATH"
  PNPM=(pnpm)
  log "pnpm $(pnpm --version)"
}

install_deps() {
  log "installing dependencies (pnpm install --frozen-lockfile)"
  "${PNPM[@]}" install --frozen-lockfile --reporter=append-only
}

# --- apt -------------------------------------------------------------------------------------
APT_UPDATED=0
apt_install() {
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      sudo=(sudo)
    else
      die "need root (or passwordless sudo) to install from apt: $*. Install them yourself, or set DEVICEBOUND_TEST_PG_URL / DEVICEBOUND_TEST_REDIS_URL / DEVICEBOUND_CHROMIUM."
    fi
  fi
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install these yourself: $*"
  log "installing from apt: $*"
  if [ "$APT_UPDATED" = 0 ]; then
    "${sudo[@]}" apt-get update -qq || die "apt-get update failed"
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "$@" >/dev/null ||
    die "apt-get install $* failed"
}

free_port() {
  node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# --- services --------------------------------------------------------------------------------
SERVICE_DIR=""
PG_BIN=""
cleanup() {
  if [ -n "$SERVICE_DIR" ]; then
    if [ -f "$SERVICE_DIR/pg/postmaster.pid" ]; then
      as_pg "$PG_BIN/pg_ctl" -D "$SERVICE_DIR/pg" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    if [ -f "$SERVICE_DIR/redis.pid" ]; then
      kill "$(cat "$SERVICE_DIR/redis.pid")" 2>/dev/null || true
    fi
    rm -rf "$SERVICE_DIR"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# initdb refuses to run as root, so as root PostgreSQL runs as the postgres user.
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

find_pg_bin() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -n "$d" ] && [ -x "$d/initdb" ]; then echo "$d"; fi
}

ensure_chromium() {
  if [ -z "${DEVICEBOUND_CHROMIUM:-}" ]; then
    DEVICEBOUND_CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
  fi
  if [ -z "$DEVICEBOUND_CHROMIUM" ]; then
    apt_install chromium
    DEVICEBOUND_CHROMIUM=$(command -v chromium) || die "chromium did not install"
  fi
  export DEVICEBOUND_CHROMIUM
  log "chromium: $DEVICEBOUND_CHROMIUM"
}

# Firefox ESR and WebKitGTK for the browser package's engine suite (packages/browser/test-support/
# engines.ts); DEVICEBOUND_FIREFOX / DEVICEBOUND_MINIBROWSER point at other builds.
ensure_firefox() {
  DEVICEBOUND_FIREFOX=${DEVICEBOUND_FIREFOX:-$(command -v firefox-esr || true)}
  if [ -z "$DEVICEBOUND_FIREFOX" ]; then
    apt_install firefox-esr
    DEVICEBOUND_FIREFOX=$(command -v firefox-esr) || die "firefox-esr did not install"
  fi
  export DEVICEBOUND_FIREFOX
  log "firefox: $DEVICEBOUND_FIREFOX"
}

ensure_webkit() {
  local minibrowser
  minibrowser=$(ls /usr/lib/*/webkit2gtk-4.1/MiniBrowser 2>/dev/null | head -n 1)
  if [ -z "${DEVICEBOUND_MINIBROWSER:-}" ] &&
    { [ -z "$minibrowser" ] || ! command -v WebKitWebDriver >/dev/null 2>&1 || ! command -v Xvfb >/dev/null 2>&1; }; then
    apt_install webkit2gtk-driver xvfb
    minibrowser=$(ls /usr/lib/*/webkit2gtk-4.1/MiniBrowser 2>/dev/null | head -n 1)
  fi
  export DEVICEBOUND_MINIBROWSER=${DEVICEBOUND_MINIBROWSER:-$minibrowser}
  [ -n "$DEVICEBOUND_MINIBROWSER" ] || die "WebKitGTK MiniBrowser did not install"
  log "webkit: $DEVICEBOUND_MINIBROWSER"
}

start_services() {
  SERVICE_DIR=$(mktemp -d /tmp/devicebound-services.XXXXXX)
  chmod 755 "$SERVICE_DIR"

  if [ -z "${DEVICEBOUND_TEST_PG_URL:-}" ]; then
    PG_BIN=$(find_pg_bin)
    if [ -z "$PG_BIN" ]; then
      apt_install postgresql
      PG_BIN=$(find_pg_bin)
      [ -n "$PG_BIN" ] || die "postgresql did not install"
    fi
    local pg_port
    pg_port=$(free_port)
    mkdir -p "$SERVICE_DIR/pg"
    if [ "$(id -u)" -eq 0 ]; then chown postgres "$SERVICE_DIR/pg"; fi
    as_pg "$PG_BIN/initdb" -D "$SERVICE_DIR/pg" -U postgres -A trust --no-sync -E UTF8 >"$SERVICE_DIR/initdb.log" 2>&1 ||
      die "initdb failed: $(tail -n 5 "$SERVICE_DIR/initdb.log")"
    as_pg "$PG_BIN/pg_ctl" -D "$SERVICE_DIR/pg" -l "$SERVICE_DIR/pg/server.log" -w -t 60 \
      -o "-h 127.0.0.1 -p $pg_port -k $SERVICE_DIR/pg -F -c max_connections=200" start >/dev/null ||
      die "PostgreSQL did not start: $(tail -n 5 "$SERVICE_DIR/pg/server.log")"
    export DEVICEBOUND_TEST_PG_URL="postgres://postgres@127.0.0.1:$pg_port/postgres"
    log "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$pg_port ($SERVICE_DIR/pg)"
  fi

  if [ -z "${DEVICEBOUND_TEST_REDIS_URL:-}" ]; then
    command -v redis-server >/dev/null 2>&1 || apt_install redis-server
    local redis_port
    redis_port=$(free_port)
    redis-server --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no --dir "$SERVICE_DIR" \
      --daemonize yes --pidfile "$SERVICE_DIR/redis.pid" --logfile "$SERVICE_DIR/redis.log" ||
      die "Redis did not start"
    for _ in $(seq 50); do
      [ -f "$SERVICE_DIR/redis.pid" ] && break
      sleep 0.1
    done
    export DEVICEBOUND_TEST_REDIS_URL="redis://127.0.0.1:$redis_port"
    log "Redis $(redis-server --version | awk '{print $3}' | sed 's/^v=//') on 127.0.0.1:$redis_port"
  fi
}

# --- modes -----------------------------------------------------------------------------------
run_tests() {
  local status=0
  mkdir -p .reports
  rm -rf .reports/*.json .reports/runs

  log "build, typecheck, lint"
  "${PNPM[@]}" exec turbo run build typecheck lint --output-logs=errors-only || status=1

  if [ "$status" = 0 ]; then
    log "unit, integration and browser tests (vitest)"
    "${PNPM[@]}" exec vitest run --reporter=default --reporter=json \
      --outputFile.json=.reports/vitest.json || status=1

    log "end-to-end tests (Playwright)"
    local cfg
    for cfg in examples/*/playwright.config.ts; do
      [ -f "$cfg" ] || continue
      (cd "$(dirname "$cfg")" &&
        PLAYWRIGHT_JSON_OUTPUT_NAME="$ROOT/.reports/playwright-$(basename "$(dirname "$cfg")").json" \
          "${PNPM[@]}" exec playwright test --reporter=list,json) || status=1
    done

    log "library suites on every other supported Node (binaries from the npm registry, cached)"
    node scripts/node-matrix.mjs || status=1

    log "consumer test: the packed tarballs in a fresh app outside the workspace"
    node scripts/consumer-test.mjs .reports/consumer.json || status=1
  fi

  node scripts/test-summary.mjs .reports || status=1
  # The README's support table is what this run tested; written only from a run that passed.
  if [ "$status" = 0 ]; then node scripts/support-table.mjs --write >/dev/null; fi
  log "npm test took $((SECONDS / 60)) min $((SECONDS % 60)) s"
  return "$status"
}

mode=${1:-}
shift || true
case "$mode" in
  demo)
    setup_pnpm
    install_deps
    "${PNPM[@]}" exec turbo run build --output-logs=errors-only
    # Node itself, not through pnpm: Ctrl-C then ends with the server's own clean exit.
    cd examples/express
    exec node dist/server.js
    ;;
  fleet)
    setup_pnpm
    install_deps
    "${PNPM[@]}" exec turbo run build --output-logs=errors-only
    # DATABASE_URL / REDIS_URL when given, else throwaway instances (their data goes on exit).
    [ -n "${DATABASE_URL:-}" ] && export DEVICEBOUND_TEST_PG_URL="$DATABASE_URL"
    [ -n "${REDIS_URL:-}" ] && export DEVICEBOUND_TEST_REDIS_URL="$REDIS_URL"
    start_services
    export DATABASE_URL="$DEVICEBOUND_TEST_PG_URL" REDIS_URL="$DEVICEBOUND_TEST_REDIS_URL"
    # In the background, so this script outlives it and stops the services afterwards.
    node examples/hono-fleet/dist/fleet.js &
    fleet_pid=$!
    trap 'kill -TERM "$fleet_pid" 2>/dev/null || true' INT TERM
    status=0
    while kill -0 "$fleet_pid" 2>/dev/null; do
      wait "$fleet_pid" && status=0 || status=$?
    done
    exit "$status"
    ;;
  test)
    setup_pnpm
    install_deps
    ensure_chromium
    ensure_firefox && ensure_webkit
    start_services
    run_tests
    ;;
  bench)
    setup_pnpm
    install_deps
    ensure_chromium
    start_services
    "${PNPM[@]}" exec turbo run build --output-logs=errors-only
    # One at a time, so no benchmark competes with another for the two cores.
    "${PNPM[@]}" exec turbo run bench --concurrency=1 --output-logs=full
    node scripts/bench-report.mjs
    ;;
  services)
    [ "${1:-}" = "--" ] && shift
    [ $# -gt 0 ] || die "usage: bash scripts/dev.sh services -- COMMAND..."
    ensure_chromium
    start_services
    "$@"
    ;;
  *)
    die "usage: bash scripts/dev.sh demo|fleet|test|bench|services -- COMMAND"
    ;;
esac
