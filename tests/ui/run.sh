#!/usr/bin/env bash
# run.sh AUDITD BUILD_DIR SOURCE_DIR: build a small plant's data directory (two weeks
# of the simulator, a trained and registered model awaiting approval, people with
# console roles), start `auditd serve` on a free 127.0.0.1 port and run
# console.test.mjs in headless Chromium. Screenshots go to BUILD_DIR/shots.
set -euo pipefail
A=$1 B=$2 SRC=$3
command -v node >/dev/null || { echo "node is missing: run scripts/deps.sh" >&2; exit 1; }
[ -x /usr/bin/chromium ] || { echo "/usr/bin/chromium is missing: run scripts/deps.sh" >&2; exit 1; }
mkdir -p "$B/npm"
cp "$SRC/tests/ui/package.json" "$SRC/tests/ui/package-lock.json" "$B/npm/"
if ! cmp -s "$B/npm/package-lock.json" "$B/npm/node_modules/.auditd-lock" 2>/dev/null; then
  (cd "$B/npm" && npm ci --no-audit --no-fund --loglevel=error) >&2
  cp "$B/npm/package-lock.json" "$B/npm/node_modules/.auditd-lock"
fi
cp "$SRC/tests/ui/console.test.mjs" "$B/npm/"

W=$(mktemp -d /tmp/auditd-test-ui-XXXXXX)
D=$W/data
daemon=
cleanup() {
  [ -n "$daemon" ] && kill -TERM "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null || true
  rm -rf "$W"
}
trap cleanup EXIT
export AUDITD_DATA_DIR=$D
{
  "$A" init --origin test.auditd.example/console
  "$A" policy load "$SRC/policies/examples/plant.xml" --actor frank
  "$A" agent add gw-1 --role edge --key-out "$W/gw-1.key"
  "$A" agent add platform --role platform --key-out "$W/platform.key"
  "$A" token create --role auditor --name ui-test >"$W/token"
  "$A" simulate --seed 7 --days 14 --start 2026-07-01 --interval 600 --out "$W/sim"
  # three more days, sent once a model is deployed: predictions for operators to label
  "$A" simulate --seed 8 --days 3 --start 2026-07-15 --interval 600 --out "$W/sim2"
  # the site's KPI definitions: the report counts operators' verdicts from 20 on
  python3 -c 'import json,sys; k=json.load(open(sys.argv[1])); k.setdefault("parameters",{})["min_operator_labels"]=20; json.dump(k,open(sys.argv[2],"w"))' \
    "$SRC/reports/kpis.json" "$D/kpis.json"
  "$A" profile load "$W"/sim/profiles/*.json --actor alice
  "$A" device register --file "$W/sim/devices.ndjson"
} >"$W/setup.log" 2>&1 || { cat "$W/setup.log"; exit 1; }
for p in erin:steering frank:auditor grace:operator alice:operator,approver carol:data-scientist,approver bob:admin; do
  "$A" person add "${p%%:*}" --role "${p#*:}" >"$W/pw-${p%%:*}" 2>>"$W/setup.log"
done
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$A" serve --listen "127.0.0.1:$port" >"$W/daemon.log" 2>&1 &
daemon=$!
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
{
  "$A" agent send --server "http://127.0.0.1:$port" --name gw-1 --key "$W/gw-1.key" --spool "$W/s1" --telemetry <"$W/sim/telemetry.ndjson"
  "$A" agent send --server "http://127.0.0.1:$port" --name platform --key "$W/platform.key" --spool "$W/s2" <"$W/sim/events.ndjson"
  ds=$("$A" dataset define --from 2026-07-01 --to 2026-07-15 | sed -n 's/.*"dataset":"\([0-9a-f]*\)".*/\1/p')
  "$A" model train --dataset "$ds" --name failure-predictor --out "$W/fp-1.json"
  "$A" model register "$W/fp-1.json" --name failure-predictor --version 1 --dataset "$ds"
  printf '{"type":"change.request","time":"2026-07-15T08:00:00Z","actor":"agent:platform","change_id":"CHG-ML-1","activity":"model:failure-predictor","target":"model:failure-predictor@1"}\n' |
    "$A" agent send --server "http://127.0.0.1:$port" --name platform --key "$W/platform.key" --spool "$W/s2"
  "$A" report --period 2026-Q3 --format json --out "$W/r.json" --actor erin
  "$A" workflow run   # the daemon runs the same every 30 s
} >>"$W/setup.log" 2>&1 || { cat "$W/setup.log"; tail -n 20 "$W/daemon.log"; exit 1; }
export AUDITD_URL="http://127.0.0.1:$port" AUDITD_BIN=$A AUDITD_WORK=$W AUDITD_SHOTS=$B/shots
export AUDITD_LOG_KEY=$("$A" key)
mkdir -p "$B/shots"
cd "$B/npm"
status=0
node --test --test-reporter=spec console.test.mjs || status=$?
[ $status -eq 0 ] || { grep -A40 "ERROR: AddressSanitizer\|runtime error" "$W/daemon.log" || tail -n 30 "$W/daemon.log"; }
exit $status
