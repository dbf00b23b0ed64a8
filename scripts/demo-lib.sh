# demo-lib.sh: the pieces the demos share (sourced by scripts/demo.sh and
# scripts/demo-enterprise.sh; not run by itself). Expects $root (the source
# tree) and sets $A (the auditd binary) once demo_build has run.

T0=$SECONDS
say() { printf '\n== %s  [%ds]\n' "$*" $((SECONDS - T0)); }

# Run a silent command, printing the elapsed time every 5 s so a long step shows it is alive.
ticker() {
  local label=$1; shift
  "$@" &
  local pid=$! s=$SECONDS
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    if (( (SECONDS - s) % 5 == 0 )) && kill -0 "$pid" 2>/dev/null; then
      printf '   ... %s: %ds\n' "$label" $((SECONDS - s))
    fi
  done
  wait "$pid"
}

# The first TCP port from $1 on that nothing listens on (127.0.0.1).
free_port() {
  local p=$1
  while (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do p=$((p + 1)); done
  echo "$p"
}

# Build auditd (RelWithDebInfo) into build/release, showing progress.
demo_build() {
  say "building auditd (cmake, RelWithDebInfo)"
  cmake -S "$root" -B "$root/build/release" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  # cmake prints [ NN%] per object: show every tenth so a fresh build shows progress
  cmake --build "$root/build/release" -j"$(nproc 2>/dev/null || echo 2)" --target auditd |
    awk '/^\[ *[0-9]+%\]/ { p = int(substr($0, 2, 3)); if (p >= last + 10) { last = p; printf "   built %d%%\n", p; fflush() } }
         END { print "   auditd is built" }'
  A="$root/build/release/auditd/cli/auditd"
}

# The start of every demo: $out = the output directory $1 (made, then
# emptied), the Debian packages it needs, and auditd built.
demo_start() {
  out=$(mkdir -p "$1" && cd "$1" && pwd)
  cd "$root"
  scripts/deps.sh
  demo_build
  rm -rf "${out:?}"/*
}

# Wait until GET URL/healthz answers (curl options after the URL), or fail
# showing the end of LOG. Usage: wait_healthz PID LOG URL [curl options...]
wait_healthz() {
  local pid=$1 log=$2 url=$3; shift 3
  for _ in $(seq 1 150); do
    curl -fsS "$@" "$url/healthz" >/dev/null 2>&1 && return 0
    kill -0 "$pid" 2>/dev/null || { tail -n 20 "$log"; return 1; }
    sleep 0.1
  done
  echo "$url did not come up; see $log" >&2
  return 1
}

# A plant's data directory as the plant demo makes it: a ledger with ORIGIN,
# the plant's RACI policy, a platform agent (key in DIR.platform.key), an
# auditor token for the centre (in DIR.token, 0600) and the statement of
# applicability. Usage: plant_init DIR ORIGIN
plant_init() {
  local dir=$1 origin=$2
  "$A" init --data-dir "$dir" --origin "$origin" >/dev/null
  "$A" policy load "$root/policies/examples/plant.xml" --actor frank --data-dir "$dir" >/dev/null
  "$A" agent add platform --role platform --key-out "$dir.platform.key" --data-dir "$dir" >/dev/null
  ( umask 077; "$A" token create --role auditor --name central --data-dir "$dir" | tail -n 1 >"$dir.token" )
  "$A" controls scope --soa "$root/controls/data/soa-example.csv" --actor frank --data-dir "$dir" >/dev/null
}

# Simulate a plant (auditd simulate) into SIM and register its profiles and
# devices in DIR. Usage: plant_simulate DIR SIM SEED MACHINES INTERVAL DAYS START GO_LIVE
plant_simulate() {
  local dir=$1 sim=$2 seed=$3 machines=$4 interval=$5 days=$6 start=$7 golive=$8
  "$A" simulate --seed "$seed" --days "$days" --start "$start" --interval "$interval" \
    --machines "$machines" --go-live "$golive" --out "$sim" >/dev/null
  "$A" profile load "$sim"/profiles/*.json --actor alice --data-dir "$dir" >/dev/null
  "$A" device register --file "$sim/devices.ndjson" --data-dir "$dir" >/dev/null
}
