#!/usr/bin/env bash
# Alternating runs: pgbarge and its peer take turns, N runs each, on the
# same servers and data; prints every time, the medians and their ratio.
# Single runs vary by 20-30% on a shared 2-core machine (page cache,
# writeback, neighbours); taking turns spreads that drift over both tools.
#
#   benches/alternate.sh [--scale N] [--runs N] [--compress C] dump|restore|copy
#
# --compress: pgbarge's archive compression for dump and restore
#          (default gzip:6; pg_dump -Fd of PostgreSQL 15 writes gzip only)
# copy:    pgbarge copy (schema and rows, --jobs 4) against pg_dump | psql
#          and, when installed, pgcopydb clone (4 table and index jobs),
#          each into a fresh database after a CHECKPOINT; the ratio is
#          against the fastest peer's median
# dump:    pgbarge dump (gzip:6, --jobs 2) against pg_dump -Fd -j 2
# restore: pgbarge restore --jobs 2 of a pgbarge gzip:6 dump against
#          pg_restore -j 2 of a pg_dump -Fd dump, each into a fresh
#          database after a CHECKPOINT
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

SCALE=5 RUNS=5 WHAT= COMPRESS=gzip:6
while [ $# -gt 0 ]; do
  case "$1" in
    --scale) SCALE=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --compress) COMPRESS=$2; shift 2 ;;
    dump|restore|copy) WHAT=$1; shift ;;
    *) echo "unknown option $1 (see the header of $0)" >&2; exit 2 ;;
  esac
done
[ -n "$WHAT" ] || { echo "say what to compare: dump, restore or copy (see the header of $0)" >&2; exit 2; }

ensure_rust
ensure_postgres
if [ "$WHAT" = copy ] && ! command -v pgcopydb >/dev/null 2>&1; then
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgcopydb >/dev/null 2>&1 \
    || echo "note: pgcopydb could not be installed; it is left out" >&2
fi
echo "==> building" >&2
cargo build --release --quiet --bin pgbarge
BIN=$PWD/target/release/pgbarge
PATH=$(pg_bindir):$PATH

WORK=$(mktemp -d /tmp/pgbarge-alternate.XXXXXX); chmod 755 "$WORK"
cleanup() { stop_server "$WORK/source"; stop_server "$WORK/target"; rm -rf "$WORK"; }
trap cleanup EXIT
start_bench_servers "$WORK"
PSQL=(psql -X -q -v ON_ERROR_STOP=1)
SRC="postgres://postgres@127.0.0.1:$SP/postgres?sslmode=disable"
ADMIN="postgres://postgres@127.0.0.1:$TP/postgres?sslmode=disable"
RUN="postgres://postgres@127.0.0.1:$TP/run?sslmode=disable"
echo "==> generating the dataset at scale $SCALE" >&2
"${PSQL[@]}" -v scale="$SCALE" -d "$SRC" -f benches/dataset.sql >/dev/null

# timed NAME COMMAND...: seconds of wall time, appended to NAME's list.
declare -A TIMES
timed() {
  local name=$1 t0; shift
  sync
  t0=$(date +%s.%N)
  "$@" >"$WORK/out.log" 2>&1 || { echo "$name failed:" >&2; tail -5 "$WORK/out.log" >&2; exit 1; }
  TIMES[$name]+="$(printf '%.2f' "$(echo "$(date +%s.%N) - $t0" | bc)") "
}
fresh() { "${PSQL[@]}" -d "$ADMIN" -c "DROP DATABASE IF EXISTS run" -c "CREATE DATABASE run" -c CHECKPOINT; }

if [ "$WHAT" = dump ]; then
  A=pgbarge-dump B=pg_dump-Fd-j2
  for _ in $(seq "$RUNS"); do
    rm -rf "$WORK/d"; timed $A "$BIN" dump --quiet --schema bench --jobs 2 --compress "$COMPRESS" --source "$SRC" --output "$WORK/d"
    rm -rf "$WORK/d"; timed $B pg_dump -Fd -j 2 --schema bench -d "$SRC" -f "$WORK/d"
  done
elif [ "$WHAT" = copy ]; then
  A=pgbarge-copy B=pg_dump-psql C=
  command -v pgcopydb >/dev/null && C=pgcopydb-clone
  for _ in $(seq "$RUNS"); do
    fresh; timed $A "$BIN" copy --quiet --schema bench --jobs 4 --no-owner --no-privileges --source "$SRC" --target "$RUN"
    fresh; timed $B bash -c 'set -o pipefail; pg_dump --schema bench --no-owner --no-privileges -d "$1" | psql -X -q -v ON_ERROR_STOP=1 -d "$2"' _ "$SRC" "$RUN"
    if [ -n "$C" ]; then
      fresh; rm -rf "$WORK/pgcopydb"
      timed $C pgcopydb clone --source "$SRC" --target "$RUN" --table-jobs 4 --index-jobs 4 --dir "$WORK/pgcopydb" --no-owner --no-acl --skip-extensions
    fi
  done
else
  A=pgbarge-restore B=pg_restore-j2
  "$BIN" dump --quiet --schema bench --jobs 2 --compress "$COMPRESS" --source "$SRC" --output "$WORK/pgbarge" >/dev/null
  pg_dump -Fd -j 2 --schema bench -d "$SRC" -f "$WORK/pgdump"
  for _ in $(seq "$RUNS"); do
    fresh; timed $A "$BIN" restore --quiet --jobs 2 --input "$WORK/pgbarge" --target "$RUN"
    fresh; timed $B pg_restore -j 2 -d "$RUN" "$WORK/pgdump"
  done
fi

median() { tr ' ' '\n' | grep . | sort -n | awk '{x[NR]=$1} END {print x[int((NR+1)/2)]}'; }
ma=$(echo "${TIMES[$A]}" | median); mb=$(echo "${TIMES[$B]}" | median)
if [ -n "${C:-}" ]; then
  mc=$(echo "${TIMES[$C]}" | median)
fi
echo
echo "### $WHAT, alternating, $RUNS runs each (scale $SCALE$( [ "$WHAT" = copy ] || echo ", pgbarge $COMPRESS"))"
echo
echo "| tool | runs (s) | median s |"
echo "|---|---|---:|"
echo "| $A | ${TIMES[$A]}| $ma |"
echo "| $B | ${TIMES[$B]}| $mb |"
if [ -n "${C:-}" ]; then
  echo "| $C | ${TIMES[$C]}| $mc |"
  if (( $(echo "$mc < $mb" | bc) )); then B=$C mb=$mc; fi
fi
echo
printf 'ratio of medians: %.2f (%s against %s, the fastest peer)\n' "$(echo "$ma / $mb" | bc -l)" "$A" "$B"
