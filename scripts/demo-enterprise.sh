#!/usr/bin/env bash
# demo-enterprise.sh: the enterprise variant of the demo, end to end, on one machine.
#   scripts/demo-enterprise.sh [OUTDIR]        (default ./demo-enterprise-out; recreated)
#
# Three simulated plants (different seeds and sizes: 8, 5 and 3 CNC machines, a PLC line and
# a camera each) run from 1 April to 30 September 2026; the programme goes live on 2 July.
# Each plant has its own auditd on 127.0.0.1 and ledger. The central tier keeps its state in a
# PostgreSQL cluster this script starts in a temporary directory (scripts/pgtmp.sh), and runs
# as `auditd central serve`: it is every plant's C2SP witness (each plant's daemon submits its
# checkpoints with --witness and gets them cosigned), it mirrors every plant's ledger with
# proofs, and it fetches the batches the plants ship (hourly rollups, KPI inputs, control
# status: never raw readings), each only if its digest is in the plant's proven ledger.
# At the end: the enterprise report for 2026-Q3 (each plant against its own Q2 baseline) in
# HTML, OSCAL and JSON/CSV, `central verify`, and where everything is.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/scripts/demo-lib.sh"
demo_start "${1:-$root/demo-enterprise-out}"
mkdir -p "$out/reports" "$out/keys"

pgdir="/tmp/auditd-demo-enterprise-pg-$$"
pids=()
stop_all() {
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  pids=()
  "$root/scripts/pgtmp.sh" stop "$pgdir" >/dev/null 2>&1 || true
}
trap stop_all EXIT

say "PostgreSQL for the central tier: a temporary cluster in $pgdir (scripts/pgtmp.sh, fsync on)"
DB=$("$root/scripts/pgtmp.sh" start "$pgdir" --owner-pid $$)
export AUDITD_CENTRAL_DB="$DB"
echo "connection: $DB"
"$A" central init

say "the centre: its witness key (a secret file, 0600; the database keeps the public half) and its front-end"
WITNESS_VKEY=$("$A" central witness init --name demo.auditd.example/central-witness \
  --key-out "$out/keys/central-witness.key" 2>/dev/null)
echo "central witness key: $WITNESS_VKEY"
C="$out/centre"
"$A" init --data-dir "$C" --origin demo.auditd.example/centre >/dev/null
CENTRE_PORT=$(free_port 18600)
CENTRE="http://127.0.0.1:$CENTRE_PORT"
"$A" central serve --witness-key-file "$out/keys/central-witness.key" --data-dir "$C" \
  --listen "127.0.0.1:$CENTRE_PORT" --interval-ms 500 >>"$out/centre.log" 2>&1 &
pids+=($!)
wait_healthz "${pids[-1]}" "$out/centre.log" "$CENTRE"
echo "auditd central serve on $CENTRE: POST /add-checkpoint for the registered plants, mirroring"

# plant number, seed, CNC machines, reading interval (s)
PLANTS=("1 42 8 900" "2 7 5 900" "3 99 3 900")
declare -A URLS
for spec in "${PLANTS[@]}"; do
  read -r n seed machines interval <<<"$spec"
  P="$out/plant-$n"
  say "plant-$n: its own auditd (seed $seed, $machines CNC machines, a reading every $interval s)"
  plant_init "$P" "demo.auditd.example/plant-$n"
  # its KPI definitions: the built-in ones, under its own name (baseline period 2026-Q2)
  sed "s/\"site\": *\"plant-1\"/\"site\": \"plant-$n\"/" "$root/reports/kpis.json" >"$P/kpis.json"
  plant_simulate "$P" "$P.sim" "$seed" "$machines" "$interval" 183 2026-04-01 2026-07-02T06:00:00Z
  port=$(free_port $((18700 + n)))
  URLS[$n]="http://127.0.0.1:$port"
  "$A" serve --data-dir "$P" --listen "127.0.0.1:$port" --verify-interval-seconds 0 \
    --witness "$CENTRE" --witness-key "$WITNESS_VKEY" >>"$P.log" 2>&1 &
  pids+=($!)
  wait_healthz "${pids[-1]}" "$P.log" "${URLS[$n]}"
  "$A" central site add --origin "demo.auditd.example/plant-$n" --key "$("$A" key --data-dir "$P")" \
    --url "${URLS[$n]}" --token-file "$P.token" --by frank
done

feed() { # N: the plant's six months as its agents send them (signed batches over HTTP)
  local n=$1 P="$out/plant-$1" seed machines interval
  read -r _ seed machines interval <<<"${PLANTS[$((n - 1))]}"
  "$A" simulate --seed "$seed" --days 183 --start 2026-04-01 --interval "$interval" \
    --machines "$machines" --go-live 2026-07-02T06:00:00Z --out "$P.sim" \
    --post "${URLS[$n]}" --name platform --key "$P.platform.key" >"$P.feed.log" 2>&1
}
for spec in "${PLANTS[@]}"; do
  read -r n _ <<<"$spec"
  say "plant-$n: 2026-04-01 .. 2026-09-30 sent to its daemon (readings and events, signed batches)"
  ticker "plant-$n sending" feed "$n"
  tail -n 2 "$out/plant-$n.feed.log" | sed 's/^/   /'
done

say "each plant ships its quarters to the centre: hourly rollups, KPI inputs, control status"
for spec in "${PLANTS[@]}"; do
  read -r n _ <<<"$spec"
  P="$out/plant-$n"
  # 1 July: the baseline quarter; 1 October: the quarter of the programme
  "$A" ship --period 2026-Q2 --time 2026-07-01T06:00:00Z --data-dir "$P" | sed "s/^/   plant-$n 2026-Q2 /"
  "$A" ship --period 2026-Q3 --time 2026-10-01T06:00:00Z --data-dir "$P" | sed "s/^/   plant-$n 2026-Q3 /"
done

say "the centre mirrors every ledger with proofs, cosigns the checkpoints, fetches the batches"
want_sizes() {
  for spec in "${PLANTS[@]}"; do
    read -r n _ <<<"$spec"
    "$A" checkpoint --data-dir "$out/plant-$n" | sed -n 2p
  done | paste -sd' '
}
caught_up() {
  "$A" central status --json | python3 -c '
import json, sys
want = [int(x) for x in sys.argv[1].split()]
s = json.load(sys.stdin)["sites"]
ok = len(s) == len(want) and all(
    x["mirror_size"] >= w and (x["cosigned_size"] or 0) >= w and x["batches"] > 0
    and x["batches"] == x["batches_fetched"] for x, w in zip(s, want))
print("   " + "; ".join("%s: %d mirrored, cosigned %s, %d/%d batches" % (x["origin"].split("/")[0],
      x["mirror_size"], x["cosigned_size"], x["batches_fetched"], x["batches"]) for x in s))
sys.exit(0 if ok else 1)' "$1"
}
sizes=$(want_sizes)
for i in $(seq 1 120); do
  if caught_up "$sizes" >"$out/status.tmp"; then cat "$out/status.tmp"; break; fi
  (( i % 5 == 0 )) && cat "$out/status.tmp"
  sleep 1
  [ "$i" = 120 ] && { echo "the centre did not catch up; see $out/centre.log" >&2; exit 1; }
done
"$A" central status

say "the centre re-checks what it holds (every leaf hash, every stored checkpoint's signature and root)"
"$A" central verify

say "the enterprise report for 2026-Q3: each plant against its own baseline, the totals from summed inputs"
ereport() {
  "$A" report --scope enterprise --period 2026-Q3 --format all --out-dir "$out/reports" \
    --time 2026-10-01T08:00:00Z >"$out/reports/issued.txt" 2>"$out/reports/summary.txt"
}
ticker "computing the enterprise report" ereport
cat "$out/reports/issued.txt" "$out/reports/summary.txt"
python3 - "$out/reports/enterprise-2026-Q3.kpis.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
print("   %-28s %10s %10s %14s" % ("KPI (enterprise)", "2026-Q3", "baseline", "change"))
for k in d["enterprise"]["kpis"]:
    if k["id"] in ("availability", "oee", "quality_ratio", "energy_per_good_unit", "mttr",
                   "controls_satisfied", "open_findings"):
        c = k["change_vs_baseline"]
        print("   %-28s %10s %10s %14s" % (k["name"][:28], k["current"]["display"],
              k["baseline"]["display"], "%+.1f %s" % (c["value"], c["unit"]) if c else "n/a"))
PY
stop_all
trap - EXIT

say "done in $((SECONDS - T0)) s"
echo "enterprise report (HTML):  $out/reports/enterprise-2026-Q3.html"
echo "OSCAL assessment results:  $out/reports/enterprise-2026-Q3.oscal.xml (and .oscal.json)"
echo "KPI data:                  $out/reports/enterprise-2026-Q3.kpis.json (and .kpis.csv)"
echo "plants' data directories:  $out/plant-1 $out/plant-2 $out/plant-3; the centre's: $C"
