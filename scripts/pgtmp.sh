#!/usr/bin/env bash
# pgtmp.sh: a temporary PostgreSQL cluster for tests, benchmarks and the demo.
#   scripts/pgtmp.sh start DIR [--owner-pid PID] [--fast]
#       initdb a cluster in DIR/data (DIR must not exist, must be under /tmp),
#       start it on 127.0.0.1:<a free port> with its socket in DIR/sock, and print
#       its libpq connection string (also written to DIR/conninfo).
#       --owner-pid PID: stop the cluster and remove DIR when PID exits (so a test
#       that is killed never leaves PostgreSQL running).
#       --fast: fsync=off (tests: the data need not survive a power cut).
#   scripts/pgtmp.sh restart DIR [immediate|fast]   restart (immediate = like a crash)
#   scripts/pgtmp.sh stop DIR                       stop it and remove DIR
# PostgreSQL refuses to run as root: as root, the cluster is owned by and runs as
# the `postgres` user (runuser); otherwise as the calling user.
set -euo pipefail

die() { echo "pgtmp.sh: $*" >&2; exit 1; }

bindir() {
  if [ -n "${PG_BINDIR:-}" ]; then echo "$PG_BINDIR"; return; fi
  local d
  for d in /usr/lib/postgresql/15/bin $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -Vr); do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then echo "$d"; return; fi
  done
  die "PostgreSQL server programs (initdb, pg_ctl) not found under /usr/lib/postgresql: install postgresql-15 (scripts/deps.sh)"
}

as_owner() { # run a command as the cluster's owner
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

check_dir() {
  case "$1" in
    /tmp/?*) ;;
    *) die "DIR must be under /tmp (got '$1')" ;;
  esac
}

free_port() {
  local p i
  for i in $(seq 1 50); do
    p=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
    if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then echo "$p"; return; fi
  done
  die "no free TCP port found"
}

cmd=${1:-}; dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || die "usage: pgtmp.sh start|restart|stop DIR [options]"
check_dir "$dir"
shift 2
bin=$(bindir)

case "$cmd" in
start)
  owner=""; fast=0
  while [ $# -gt 0 ]; do
    case "$1" in
      --owner-pid) owner=$2; shift 2 ;;
      --fast) fast=1; shift ;;
      *) die "unknown option $1" ;;
    esac
  done
  [ -e "$dir" ] && die "$dir exists already"
  mkdir -m 0700 "$dir"
  mkdir -m 0700 "$dir/sock"
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || die "user postgres does not exist: install postgresql-15"
    chown -R postgres: "$dir"
    user=postgres
  else
    user=$(id -un)
  fi
  as_owner "$bin/initdb" -D "$dir/data" -U "$user" -A trust -E UTF8 --locale=C --no-sync \
    >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
  extra=""
  [ "$fast" = 1 ] && extra="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  ok=0
  for attempt in 1 2 3 4 5; do
    port=$(free_port)
    if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-p $port -k $dir/sock -c listen_addresses=127.0.0.1 -c max_connections=200 $extra" \
        start >/dev/null 2>&1; then
      ok=1; break
    fi
  done
  [ "$ok" = 1 ] || { tail -n 20 "$dir/server.log" >&2; die "PostgreSQL did not start"; }
  echo "$port" >"$dir/port"
  conninfo="host=$dir/sock port=$port user=$user dbname=postgres"
  printf '%s\n' "$conninfo" >"$dir/conninfo"
  if [ -n "$owner" ]; then
    # Watchdog: when the owner is gone, stop the cluster and remove the directory.
    setsid bash -c '
      while kill -0 "$1" 2>/dev/null && [ -d "$3/data" ]; do sleep 1; done
      if [ -d "$3/data" ]; then
        if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$2/pg_ctl" -D "$3/data" -m immediate stop
        else "$2/pg_ctl" -D "$3/data" -m immediate stop; fi
        rm -rf "$3"
      fi' pgtmp-watchdog "$owner" "$bin" "$dir" </dev/null >/dev/null 2>&1 &
  fi
  printf '%s\n' "$conninfo"
  ;;
restart)
  mode=${1:-fast}
  case "$mode" in immediate|fast) ;; *) die "restart mode must be immediate or fast" ;; esac
  port=$(cat "$dir/port")
  extra=""
  grep -q 'fsync=off' "$dir/data/postmaster.opts" 2>/dev/null &&
    extra="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  as_owner "$bin/pg_ctl" -D "$dir/data" -m "$mode" -w -t 60 stop >/dev/null 2>&1 || true
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-p $port -k $dir/sock -c listen_addresses=127.0.0.1 -c max_connections=200 $extra" \
    start >/dev/null || { tail -n 20 "$dir/server.log" >&2; die "PostgreSQL did not restart"; }
  ;;
stop)
  if [ -d "$dir/data" ]; then
    as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
  ;;
*) die "unknown command $cmd (start, restart, stop)" ;;
esac
