#!/usr/bin/env bash
# docs/operations.md followed literally, from an empty PostgreSQL server to a sent notice, on
# one machine: a database on the server, the Prefect server (with authentication), the work pool,
# the deployments, the zombie automation, a worker, an export in the drop folder, a notify run.
# The providers are `vnotify emulate` (the only departure from production). Run from the checkout:
#
#   deploy/walkthrough.sh postgresql://127.0.0.1:5432/postgres
#
# It creates and drops a database `vnotify_walkthrough_<pid>` on that server; everything else
# lives in a temporary folder, removed at the end.
set -euo pipefail
ADMIN_URL=${1:?usage: deploy/walkthrough.sh ADMIN_URL (a PostgreSQL URL allowed to CREATE DATABASE)}
cd "$(dirname "$0")/.."
BIN=$PWD/.venv/bin
WORK=$(mktemp -d)
DB=vnotify_walkthrough_$$
PIDS=()
cleanup() {
  for signal in TERM KILL; do
    for pid in "${PIDS[@]}"; do kill -s "$signal" -- -"$pid" "$pid" 2>/dev/null || true; done
    sleep 3
  done
  "$BIN/python" -c "import psycopg,sys; c=psycopg.connect(sys.argv[1], autocommit=True); c.execute(f'DROP DATABASE IF EXISTS {sys.argv[2]} WITH (FORCE)')" "$ADMIN_URL" "$DB" || true
  rm -rf "$WORK"
}
trap cleanup EXIT
step() { echo; echo "== $*"; }
free_port() { "$BIN/python" -c "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])"; }

step "an empty database on the server"
"$BIN/python" -c "import psycopg,sys; psycopg.connect(sys.argv[1], autocommit=True).execute(f'CREATE DATABASE {sys.argv[2]}')" "$ADMIN_URL" "$DB"
DATABASE_URL=$("$BIN/python" -c "from sqlalchemy.engine import make_url; import sys; print(make_url(sys.argv[1]).set(database=sys.argv[2]).render_as_string(hide_password=False))" "$ADMIN_URL" "$DB")

step "the environment (deploy/vnotify.env.example, filled in)"
EMULATOR_PORT=$(free_port); PREFECT_PORT=$(free_port)
sed -e "s#drop_folder: ../.vnotify/incoming#drop_folder: $WORK/incoming#" \
    -e 's/start: "08:00"/start: "00:00"/' -e 's/end: "20:00"/end: "24:00"/' \
    config/sample-agency.yaml > "$WORK/agency.yaml"
export DATABASE_URL VNOTIFY_CONFIG=$WORK/agency.yaml VNOTIFY_HOME=$WORK/home VNOTIFY_REPO=$PWD
export VNOTIFY_KEY_SECRET=$(openssl rand -hex 32)
# The emulators accept only their published test credentials (vnotify serve refuses them).
eval "$("$BIN/python" -c "from simulate.emulators.settings import *; print(f'export TWILIO_ACCOUNT_SID={TEST_ACCOUNT_SID} TWILIO_AUTH_TOKEN={TEST_AUTH_TOKEN} SENDGRID_API_KEY={TEST_SENDGRID_API_KEY}')")"
export VNOTIFY_PUBLIC_BASE_URL=http://127.0.0.1:9
export TWILIO_API_BASE_URL=http://127.0.0.1:$EMULATOR_PORT SENDGRID_API_HOST=http://127.0.0.1:$EMULATOR_PORT
export PREFECT_HOME=$WORK/prefect PREFECT_API_URL=http://127.0.0.1:$PREFECT_PORT/api
export PREFECT_SERVER_API_AUTH_STRING=vnotify:walkthrough PREFECT_API_AUTH_STRING=vnotify:walkthrough
export PREFECT_FLOWS_HEARTBEAT_FREQUENCY=30 PREFECT_SERVER_ANALYTICS_ENABLED=false DO_NOT_TRACK=1
export PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED=false   # only the run asked for below
export PREFECT_API_DATABASE_CONNECTION_URL=sqlite+aiosqlite:///$WORK/prefect.db

step "vnotify db start (migrations)"
"$BIN/vnotify" db start

step "the providers' emulators"
setsid "$BIN/vnotify" emulate --port "$EMULATOR_PORT" > "$WORK/emulator.log" 2>&1 & PIDS+=($!)

step "1. start a server"
setsid "$BIN/prefect" server start --host 127.0.0.1 --port "$PREFECT_PORT" > "$WORK/server.log" 2>&1 & PIDS+=($!)
for _ in $(seq 90); do curl -fsu vnotify:walkthrough "$PREFECT_API_URL/health" >/dev/null 2>&1 && break; sleep 1; done
curl -fsu vnotify:walkthrough "$PREFECT_API_URL/health"; echo

step "2. create the work pool"
"$BIN/prefect" work-pool create vnotify --type process

step "3. deploy, then the zombie automation"
"$BIN/prefect" --no-prompt deploy --all > "$WORK/deploy.log"
"$BIN/vnotify" ops prefect-setup

step "4. start a worker"
setsid "$BIN/prefect" worker start --pool vnotify --install-policy never > "$WORK/worker.log" 2>&1 & PIDS+=($!)

step "an export lands in the drop folder"
"$BIN/vnotify" simulate agency --months 1 --scale 0.05 --seed 7 --start 2025-03-01 --out "$WORK/incoming"

step "prefect deployment run notify/notify (as of 2025-03-20, the export's last days)"
"$BIN/prefect" deployment run notify/notify -p as_of='"2025-03-20T12:00:00+00:00"' --watch --watch-timeout 600

step "what was sent"
curl -fs "http://127.0.0.1:$EMULATOR_PORT/__emulator/stats"; echo
"$BIN/python" - <<'EOF'
import os, psycopg
with psycopg.connect(os.environ["DATABASE_URL"]) as conn:
    states = dict(conn.execute("SELECT state, count(*) FROM ops.outbox GROUP BY state").fetchall())
print("outbox:", states)
assert states.get("sent", 0) > 0, "nothing was sent"
EOF
step "vnotify ops check (no Prefect or warehouse problem expected)"
"$BIN/vnotify" ops check || true
echo; echo "walkthrough done"
