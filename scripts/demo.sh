#!/usr/bin/env bash
# demo.sh: the main job, end to end. A simulated plant's agents feed a live auditd over HTTP on
# 127.0.0.1; the ledger is verified, and its checkpoint printed.
#   scripts/demo.sh [OUTDIR]      (default ./demo-out; it is recreated)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/demo-out}
cd "$root"
scripts/deps.sh
echo "== building auditd"
cmake -S "$root" -B build/release -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/release -j"$(nproc 2>/dev/null || echo 2)" --target auditd >/dev/null
A="$root/build/release/auditd/cli/auditd"

rm -rf "$out"
mkdir -p "$out"
D="$out/data"
export AUDITD_DATA_DIR="$D"

echo "== a new ledger"
"$A" init --origin demo.auditd.example/plant-1

echo "== agents append a stream of audit events"
gen_events() { # a small plant: gateway, camera and platform agents
  local day
  for day in $(seq -w 1 30); do
    printf '{"type":"firmware.scan","time":"2026-07-%sT06:00:00Z","actor":"agent:platform","artifact_sha256":"%064d","scanner":"grype","result":"pass","critical":0}\n' "$day" "$((10#$day))"
    printf '{"type":"machine.state","time":"2026-07-%sT06:05:00Z","actor":"agent:gw-1","device":"cnc-%s","state":"running"}\n' "$day" "$((10#$day % 4 + 1))"
    printf '{"type":"ledger.verify","time":"2026-07-%sT23:00:00Z","actor":"agent:platform","result":"pass","tree_size":%d}\n' "$day" "$((10#$day * 3))"
  done
}
gen_events | "$A" append --source agent:platform >/dev/null
echo "appended $(gen_events | wc -l) events"

echo "== verify"
"$A" verify
echo "== the latest signed checkpoint"
"$A" checkpoint
echo "== the verifier key"
"$A" key
