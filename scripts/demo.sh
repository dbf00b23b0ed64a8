#!/usr/bin/env bash
# demo.sh: the programme's first two quarters, end to end, as an operator would run them.
#   scripts/demo.sh [OUTDIR]        (default ./demo-out; recreated)
#
# A simulated plant (8 CNC machines, a legacy PLC behind a gateway, an edge AI camera) runs
# from 1 April to 30 September 2026 on one simulated clock:
#   2026-Q2  the baseline: no model; the plant as it was.
#   1 Jul    the Q2 report is issued; a failure model is trained on Q2's telemetry, registered,
#            requested by the platform, consulted with alice, approved by carol (Accountable).
#   2 Jul    the model is deployed (06:00) together with the CNC controllers' idle power-down
#            rule (firmware change CHG-006); from then on the plant responds to warnings.
#   2026-Q3  the model scores every CNC reading at ingestion; monthly drift checks; the
#            camera's data contract breaks and is fixed; the Q3 report shows the change.
# The data reaches a live `auditd serve` (HTTPS on 127.0.0.1) day by day: the CNC cell's
# gateway posts signed batches over HTTPS, the press line's PLC and camera publish over MQTT
# with TLS to a mosquitto broker the demo starts on 127.0.0.1 (certificates from a demo CA
# made here with openssl), and the platform agent posts the plant's audit events.
# At each simulated day's end auditd verifies the whole ledger as it then stands and records
# the result for that time (verify --record --time): the daily verification evidence.
# Approvals, deployments, drift checks, verifications and reports carry their simulated times
# (the CLI's --time options); the ledger's recorded_at is always the real time.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/scripts/demo-lib.sh"
demo_start "${1:-$root/demo-out}"
export AUDITD_DATA_DIR="$out/data"
mkdir -p "$out/keys" "$out/spool" "$out/tls" "$out/feed" "$out/reports"

PORT=$(free_port 18443)
MQTT_PORT=$(free_port 18883)
WITNESS_PORT=$(free_port 18490)
URL="https://127.0.0.1:$PORT"

say "a demo CA, and certificates for the daemon and the MQTT broker (openssl, 127.0.0.1)"
(
  cd "$out/tls"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 30 \
    -subj "/CN=auditd demo CA" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >server.ext
  for who in daemon broker; do
    openssl req -newkey rsa:2048 -nodes -keyout "$who.key" -out "$who.csr" -subj "/CN=127.0.0.1" 2>/dev/null
    openssl x509 -req -in "$who.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -out "$who.pem" \
      -days 30 -extfile server.ext 2>/dev/null
  done
  chmod 600 ./*.key
)
echo "CA $out/tls/ca.pem; daemon and broker certificates for 127.0.0.1"

daemon= broker=
stop_daemon() { # SIGTERM drains: in-flight batches commit, a final checkpoint is signed
  [ -n "$daemon" ] || return 0
  kill -TERM "$daemon" 2>/dev/null && wait "$daemon" || true
  daemon=
}
witness=
stop_witness() {
  [ -n "$witness" ] || return 0
  kill -TERM "$witness" 2>/dev/null && wait "$witness" || true
  witness=
}
stop_all() {
  stop_daemon
  stop_witness
  if [ -n "$broker" ]; then kill -TERM "$broker" 2>/dev/null && wait "$broker" 2>/dev/null || true; broker=; fi
}
trap stop_all EXIT

say "mosquitto on 127.0.0.1:$MQTT_PORT, MQTT over TLS only"
cat >"$out/tls/mosquitto.conf" <<EOF
listener $MQTT_PORT 127.0.0.1
allow_anonymous true
persistence false
cafile $out/tls/ca.pem
certfile $out/tls/broker.pem
keyfile $out/tls/broker.key
tls_version tlsv1.2
user $(id -un)
EOF
/usr/sbin/mosquitto -c "$out/tls/mosquitto.conf" >"$out/mosquitto.log" 2>&1 &
broker=$!
for _ in $(seq 1 50); do
  grep -q "running" "$out/mosquitto.log" 2>/dev/null && break
  kill -0 "$broker" 2>/dev/null || { cat "$out/mosquitto.log"; exit 1; }
  sleep 0.1
done
mqtt_pub() { # DEVICE FILE: one message with the device's readings of a step
  mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" --cafile "$out/tls/ca.pem" -q 1 \
    -t "site/plant-1/device/$1/telemetry" -f "$2"
}

start_daemon() {
  "$A" serve --listen "127.0.0.1:$PORT" --tls-cert "$out/tls/daemon.pem" --tls-key "$out/tls/daemon.key" \
    --mqtt "mqtts://127.0.0.1:$MQTT_PORT" --mqtt-ca "$out/tls/ca.pem" \
    --witness "http://127.0.0.1:$WITNESS_PORT" --witness-key "$WITNESS_VKEY" >>"$out/daemon.log" 2>&1 &
  daemon=$!
  for _ in $(seq 1 100); do
    curl -fsS --cacert "$out/tls/ca.pem" "$URL/healthz" >/dev/null 2>&1 && return 0
    kill -0 "$daemon" 2>/dev/null || { tail -n 20 "$out/daemon.log"; return 1; }
    sleep 0.1
  done
  echo "the daemon did not come up; see $out/daemon.log" >&2
  return 1
}

say "a new ledger, the plant's RACI policy, its agents and an auditor's token"
"$A" init --origin demo.auditd.example/plant-1
"$A" policy load policies/examples/plant.xml --actor frank
"$A" agent add gw-1 --role edge --key-out "$out/keys/gw-1.key"
"$A" agent add platform --role platform --key-out "$out/keys/platform.key"
TOKEN=$("$A" token create --role auditor --name steering-auditor | tail -n 1)
echo "-- people who will use the web console (passwords in $out/people/, shown only there):"
mkdir -p -m 700 "$out/people"
for p in erin:steering frank:auditor grace:operator alice:operator carol:data-scientist,approver bob:admin; do
  ( umask 077; "$A" person add "${p%%:*}" --role "${p#*:}" >"$out/people/${p%%:*}.password" 2>/dev/null )
  echo "   ${p%%:*}: ${p#*:}"
done

say "a witness outside the plant (the group audit office's auditd) cosigns the plant's checkpoints"
# Its own data directory and key: it remembers how big the plant's log was, so a cut tail or a
# rewritten history cannot pass unnoticed (C2SP tlog-witness; docs/ledger.md).
W="$out/witness"
"$A" init --data-dir "$W" --origin demo.auditd.example/audit-office >/dev/null
"$A" witness init --data-dir "$W" --name demo.auditd.example/witness-1
WITNESS_VKEY=$("$A" witness key --data-dir "$W")
"$A" witness add-log --data-dir "$W" --origin demo.auditd.example/plant-1 --key "$("$A" key)"
"$A" serve --data-dir "$W" --listen "127.0.0.1:$WITNESS_PORT" >>"$out/witness.log" 2>&1 &
witness=$!
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$WITNESS_PORT/healthz" >/dev/null 2>&1 && break
  kill -0 "$witness" 2>/dev/null || { tail -n 20 "$out/witness.log"; exit 1; }
  sleep 0.1
done
echo "witness key: $WITNESS_VKEY"
"$A" controls scope --soa controls/data/soa-example.csv --actor frank

say "simulating the plant, 2026-04-01 to 2026-09-30 (seed 42; the programme goes live 2026-07-02 06:00)"
"$A" simulate --seed 42 --days 183 --start 2026-04-01 --interval 180 \
  --go-live 2026-07-02T06:00:00Z --out "$out/sim"
"$A" profile load "$out"/sim/profiles/*.json --actor alice >/dev/null
"$A" device register --file "$out/sim/devices.ndjson" >/dev/null
echo "profiles and devices registered (10 devices; plc-02 is not registered: the gateway will see it anyway)"

# The feed in steps of the simulated clock: the days from 1 April, the 2nd of July split at
# the deployment (06:00). At the end of each simulated day auditd verifies the whole ledger as
# it stands and records the result for that time (verify --record --time): the daily
# verification evidence, inside the quarters, of the ledger as it was then.
bounds=()
for d in $(seq 0 183); do bounds+=("$(date -u -d "2026-04-01 +$d days" +%Y-%m-%dT%H:%M:%SZ)"); done
bounds+=(2026-07-02T06:00:00Z)
mapfile -t bounds < <(printf '%s\n' "${bounds[@]}" | sort -u)
nsteps=$((${#bounds[@]} - 1))
printf '%s\n' "${bounds[@]}" >"$out/feed/bounds.txt"
echo "splitting the readings and events into the feed's $nsteps steps ..."
# One pass over each file: step N gets the lines with bounds[N] <= time < bounds[N+1];
# CNC readings go over HTTPS, the line's (PLC, camera) over MQTT/TLS, one file per device.
# (the files are in time order: a step's files are closed when the next step starts)
awk -v dir="$out/feed" 'NR == FNR { b[n++] = $0; next }
  { t = $0; sub(/.*"time":"/, "", t); t = substr(t, 1, 20)
    while (k + 1 < n && t >= b[k + 1]) { for (f in open) close(f); split("", open); k++ }
    dev = $0; sub(/^\{"device":"/, "", dev); sub(/".*/, "", dev)
    if (dev ~ /^cnc-/) f = sprintf("%s/%03d.cnc.ndjson", dir, k)
    else f = sprintf("%s/%03d.%s.ndjson", dir, k, dev)
    open[f] = 1
    print > f }' "$out/feed/bounds.txt" "$out/sim/telemetry.ndjson"
awk -v dir="$out/feed" 'NR == FNR { b[n++] = $0; next }
  { t = $0; sub(/.*"time":"/, "", t); t = substr(t, 1, 20)
    while (k + 1 < n && t >= b[k + 1]) { if (f) close(f); f = ""; k++ }
    f = sprintf("%s/%03d.events.ndjson", dir, k)
    print > f }' "$out/feed/bounds.txt" "$out/sim/events.ndjson"
echo "$nsteps steps of the simulated clock, $(wc -l <"$out/sim/telemetry.ndjson") readings, $(wc -l <"$out/sim/events.ndjson") events"

mqtt_sent=0
# Feed steps FIRST..LAST: the CNC readings over HTTPS as gw-1, the line's devices over
# MQTT/TLS, then the plant's events as the platform agent; wait until the broker delivered;
# at a day's end, verify and record. A line of progress per simulated week.
feed() {
  local k f n cnc=0 line=0 ev=0 ver=0 from=$1
  for ((k = $1; k <= $2; k++)); do
    f=$(printf '%s/%03d' "$out/feed" "$k")
    if [ -s "$f.cnc.ndjson" ]; then
      cnc=$((cnc + $(wc -l <"$f.cnc.ndjson")))
      "$A" agent send --server "$URL" --cacert "$out/tls/ca.pem" --name gw-1 --key "$out/keys/gw-1.key" \
        --spool "$out/spool/gw-1" --telemetry --batch 2000 <"$f.cnc.ndjson" 2>>"$out/agents.log"
    fi
    for dev in plc-01 plc-02 cam-01; do
      if [ -s "$f.$dev.ndjson" ]; then
        n=$(wc -l <"$f.$dev.ndjson"); line=$((line + n)); mqtt_sent=$((mqtt_sent + n))
        mqtt_pub "$dev" "$f.$dev.ndjson"
      fi
    done
    if [ -s "$f.events.ndjson" ]; then
      ev=$((ev + $(wc -l <"$f.events.ndjson")))
      "$A" agent send --server "$URL" --cacert "$out/tls/ca.pem" --name platform --key "$out/keys/platform.key" \
        --spool "$out/spool/platform" <"$f.events.ndjson" 2>>"$out/agents.log"
    fi
    wait_mqtt
    local end=${bounds[$((k + 1))]}
    if [ "${end:11}" = "00:00:00Z" ]; then
      "$A" verify --record --time "$(date -u -d "${end/T/ } -5 minutes" +%Y-%m-%dT%H:%M:%SZ)" \
        >>"$out/verify.log" 2>&1
      ver=$((ver + 1))
    fi
    if [ $((k - from)) -ge 6 ] || [ "$k" -eq "$2" ]; then
      printf '   %s .. %s: %6d readings over HTTPS, %5d over MQTT/TLS, %4d events, %d daily verifications  [%ds]\n' \
        "${bounds[$from]:0:16}" "${end:0:16}" "$cnc" "$line" "$ev" "$ver" $((SECONDS - T0))
      from=$((k + 1)) cnc=0 line=0 ev=0 ver=0
    fi
  done
}
# Until the daemon has ingested (stored or quarantined) every MQTT reading published.
wait_mqtt() {
  local got
  for _ in $(seq 1 600); do
    got=$(sqlite3 "file:$AUDITD_DATA_DIR/telemetry.db?mode=ro" \
      "SELECT coalesce(sum(readings),0) FROM batches WHERE actor LIKE 'mqtt:%'" 2>/dev/null || echo 0)
    [ "${got:-0}" -ge "$mqtt_sent" ] && return 0
    sleep 0.1
  done
  echo "MQTT: only $got of $mqtt_sent readings arrived; see $out/daemon.log" >&2
  return 1
}
# The monthly drift check, run on the month's last evening over the month's readings since
# the deployment; a detection raises an alert, which carol (Accountable) acknowledges.
drift_check() { # FROM TO
  local log
  log=$("$A" drift --model failure-predictor --from "$1" --to "$2" --actor carol --time "$2")
  echo "$log"
  local alert
  alert=$(sed -n 's/^drift detected: .* alert \([^ ]*\) raised$/\1/p' <<<"$log")
  if [ -n "$alert" ]; then
    local ack
    ack=$(date -u -d "${2/T/ } +2 hours" +%Y-%m-%dT%H:%M:%SZ)
    echo "-- carol acknowledges $alert and schedules a review of the tool-wear feature:"
    printf '%s\n' "{\"type\":\"alert.ack\",\"time\":\"$ack\",\"actor\":\"carol\",\"alert_id\":\"$alert\"}" |
      "$A" agent send --server "$URL" --cacert "$out/tls/ca.pem" --name platform --key "$out/keys/platform.key" --spool "$out/spool/platform"
  fi
}
step_of() { local k; for ((k = 0; k < nsteps; k++)); do [ "${bounds[$k]}" = "$1" ] && { echo "$k"; return; }; done; }
Q3=$(step_of 2026-07-01T00:00:00Z)
DEPLOY=$(step_of 2026-07-02T06:00:00Z)
AUG=$(step_of 2026-08-01T00:00:00Z)
SEP=$(step_of 2026-09-01T00:00:00Z)

say "auditd serve on $URL (HTTPS), subscribed to the broker over MQTT/TLS; 2026-Q2 day by day"
start_daemon
feed 0 $((Q3 - 1))

say "1 Jul: the Q2 report, the baseline (issued at its simulated time, recorded in the ledger)"
"$A" report --period 2026-Q2 --format all --out-dir "$out/reports" --actor frank --time 2026-07-01T08:00:00Z

say "1 Jul: MLOps: a dataset of Q2, a failure model trained, registered, requested, consulted, approved"
DATASET=$("$A" dataset define --from 2026-04-01 --to 2026-07-01 | sed -n 's/.*"dataset":"\([0-9a-f]*\)".*/\1/p')
echo "dataset $DATASET (every Q2 telemetry batch)"
ticker "training" "$A" model train --dataset "$DATASET" --name failure-predictor \
  --out "$out/failure-predictor-1.json" --actor carol --time 2026-07-01T09:00:00Z
"$A" model register "$out/failure-predictor-1.json" --name failure-predictor --version 1 \
  --dataset "$DATASET" --actor carol --time 2026-07-01T10:00:00Z
SHA=$(sha256sum "$out/failure-predictor-1.json" | cut -d' ' -f1)
echo "-- the platform requests the change, alice (Consulted) is consulted:"
printf '%s\n' \
  "{\"type\":\"change.request\",\"time\":\"2026-07-01T10:30:00Z\",\"actor\":\"agent:platform\",\"change_id\":\"CHG-ML-1\",\"activity\":\"model:failure-predictor\",\"target\":\"model:failure-predictor@1\",\"artifact_sha256\":\"$SHA\"}" \
  "{\"type\":\"change.consult\",\"time\":\"2026-07-01T13:00:00Z\",\"actor\":\"alice\",\"change_id\":\"CHG-ML-1\",\"activity\":\"model:failure-predictor\"}" |
  "$A" agent send --server "$URL" --cacert "$out/tls/ca.pem" --name platform --key "$out/keys/platform.key" --spool "$out/spool/platform"
echo "-- a deployment without the Accountable's approval is refused:"
if "$A" model deploy failure-predictor --version 1 --actor agent:platform --change-id CHG-ML-1 \
  --time 2026-07-01T14:00:00Z; then
  echo "unexpected: an unapproved deployment went through" >&2; exit 1
fi
echo "-- carol, Accountable for model:failure-predictor, approves:"
"$A" model approve failure-predictor --version 1 --approver carol --change-id CHG-ML-1 --time 2026-07-01T15:00:00Z

say "1-2 Jul: the plant runs on (the model is not deployed yet)"
feed "$Q3" $((DEPLOY - 1))

say "2 Jul 06:00: the platform deploys the model; erin (Informed) is told"
"$A" model deploy failure-predictor --version 1 --actor agent:platform --change-id CHG-ML-1 --time 2026-07-02T06:00:00Z
printf '%s\n' "{\"type\":\"notify.inform\",\"time\":\"2026-07-02T08:00:00Z\",\"actor\":\"erin\",\"activity\":\"model:failure-predictor\",\"ref\":\"CHG-ML-1\"}" |
  "$A" agent send --server "$URL" --cacert "$out/tls/ca.pem" --name platform --key "$out/keys/platform.key" --spool "$out/spool/platform"
# the daemon's ingestion notices a new deployment within 15 s: restart it so scoring starts now
stop_daemon
start_daemon

say "2026-Q3 day by day: every CNC reading scored at ingestion"
feed "$DEPLOY" $((AUG - 1))

say "31 Jul: drift of July against the training data; 1 Aug: the quarantine is looked at"
drift_check 2026-07-02T06:00:00Z 2026-07-31T23:00:00Z
echo "-- what the quarantine holds, by reason (the camera's firmware 2.5.0 added exposure_ms on 20 Jul):"
"$A" telemetry quarantine list --format json --limit 1000000 | grep -o '"reason":"[a-z_]*"' | sort | uniq -c
"$A" telemetry quarantine list --format text --limit 3
echo "-- alice loads the camera's fixed profile and replays the quarantine:"
"$A" profile load "$out/sim/fixes/edge-camera.json" --actor alice >/dev/null
"$A" telemetry quarantine replay --actor alice

feed "$AUG" $((SEP - 1))
say "31 Aug: drift of August"
drift_check 2026-07-31T23:00:00Z 2026-08-31T23:00:00Z
feed "$SEP" $((nsteps - 1))

say "30 Sep: drift of September"
drift_check 2026-08-31T23:00:00Z 2026-09-30T23:00:00Z

say "the platform agent checks its receipts against the server's current checkpoint"
"$A" agent verify-receipts --server "$URL" --cacert "$out/tls/ca.pem" --spool "$out/spool/platform" --token "$TOKEN"

say "what a verifier fetches over HTTPS"
curl -fsS --cacert "$out/tls/ca.pem" "$URL/v1/log/key"
curl -fsS --cacert "$out/tls/ca.pem" "$URL/v1/log/checkpoint"
stop_daemon

say "controls evaluated for 2026-Q3"
"$A" controls status --period 2026-Q3 --format text >"$out/controls-2026-Q3.txt"
head -n 24 "$out/controls-2026-Q3.txt"
echo "... (all of it in $out/controls-2026-Q3.txt)"

say "1 Oct: the Q3 report (one computation at one signed checkpoint, every format recorded)"
q3_report() {
  "$A" report --period 2026-Q3 --format all --out-dir "$out/reports" --actor frank \
    --time 2026-10-01T08:00:00Z >"$out/reports/issued-2026-Q3.txt"
}
ticker "computing the report" q3_report
cat "$out/reports/issued-2026-Q3.txt"
echo "-- the ledger entry that records the HTML report the committee reads:"
"$A" entry "$(sed -n 's/^html .*recorded_at_index=\([0-9]*\).*/\1/p' "$out/reports/issued-2026-Q3.txt")" --format text

say "verify the whole ledger, and against the witness's memory of it"
"$A" verify
stop_witness
"$A" witness latest demo.auditd.example/plant-1 --data-dir "$W" >"$out/trusted-checkpoint.txt"
echo "-- the newest checkpoint the witness cosigned (kept outside the plant):"
cat "$out/trusted-checkpoint.txt"
"$A" verify --trusted-checkpoint "$out/trusted-checkpoint.txt" --witness-key "$WITNESS_VKEY"

say "done in $((SECONDS - T0)) s"
echo "steering committee report: $out/reports/report-2026-Q3.html (and the baseline: report-2026-Q2.html)"
echo "OSCAL assessment results:  $out/reports/report-2026-Q3.oscal.xml"
echo "                           $out/reports/report-2026-Q3.oscal.json"
echo "KPI data:                  $out/reports/report-2026-Q3.kpis.json (and .kpis.csv)"
echo "data directory:            $AUDITD_DATA_DIR"
echo
echo "To look at it in the web console, as the steering committee, an auditor, an operator or the"
echo "data scientist would:"
echo "   $A serve --data-dir $AUDITD_DATA_DIR --listen 127.0.0.1:8080"
echo "then open http://127.0.0.1:8080/ui/ and sign in as erin, frank, grace or carol with the"
echo "password in $out/people/<name>.password (docs/console.md says what each may see and do)."
