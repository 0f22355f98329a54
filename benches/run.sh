#!/usr/bin/env bash
# Data-only transfer benchmark: pgbarge side by side with
# `pg_dump --data-only | psql` and `pgcopydb copy table-data` (when it can
# be installed), on the same generated data, in one run, in two settings:
# a local target, and a target behind a throttling proxy (delay + shared
# bandwidth cap, like a cloud link). Prints wall time, bytes moved and
# peak memory of each tool, and the ratios to pgbarge.
#
#   benches/run.sh [--scale N] [--jobs N] [--delay-ms D] [--mbit M] [--local-only] [--full-only]
#                  [--dump-only]
#
# Scale 20 (the default) is about 2 GB of table data. A third setting
# (local) compares full copies, schema included, into an empty database:
# `pgbarge copy`, `pg_dump | psql`, `pg_dump -Fd -j N` + `pg_restore -j N`
# and `pgcopydb clone`, then times `pgbarge verify --checksums` of
# pgbarge's copy against the copy. --full-only runs just that one. A fourth compares
# dumps (`pgbarge dump` gzip:6 and zstd:3 with `pg_dump -Fc`, `pg_dump -Fd
# -j 2` and `pg_dump | pigz`: wall time, size, peak memory) and restores
# (`pgbarge restore` with `pg_restore -j 2`); --dump-only runs just that.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

SCALE=20 JOBS=4 DELAY_MS=20 MBIT=100 THROTTLED=1 DATA_ONLY=1 FULL=1 DUMPS=1
while [ $# -gt 0 ]; do
  case "$1" in
    --scale) SCALE=$2; shift 2 ;;
    --jobs) JOBS=$2; shift 2 ;;
    --delay-ms) DELAY_MS=$2; shift 2 ;;
    --mbit) MBIT=$2; shift 2 ;;
    --local-only) THROTTLED=0; shift ;;
    --full-only) THROTTLED=0; DATA_ONLY=0; DUMPS=0; shift ;;
    --dump-only) THROTTLED=0; DATA_ONLY=0; FULL=0; shift ;;
    *) echo "unknown option $1 (see the header of $0)" >&2; exit 2 ;;
  esac
done

ensure_rust
ensure_postgres
if ! command -v pgcopydb >/dev/null 2>&1; then
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgcopydb >/dev/null 2>&1 \
    || echo "note: pgcopydb could not be installed; it is left out" >&2
fi
command -v pigz >/dev/null 2>&1 || as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pigz >/dev/null
[ -x /usr/bin/time ] || as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null

echo "==> building" >&2
cargo build --release --quiet --bin pgbarge --example throttle_proxy
BIN=$PWD/target/release/pgbarge
PROXY=$PWD/target/release/examples/throttle_proxy

WORK=$(mktemp -d /tmp/pgbarge-bench.XXXXXX); chmod 755 "$WORK"
PROXY_PID=
cleanup() {
  [ -n "$PROXY_PID" ] && kill "$PROXY_PID" 2>/dev/null || true
  stop_server "$WORK/source"; stop_server "$WORK/target"; rm -rf "$WORK"
}
trap cleanup EXIT

SP=$(free_port); TP=$(free_port); PP=$(free_port)
start_server "$WORK/source" "$SP"
start_server "$WORK/target" "$TP"
for dir in source target; do
  cat >>"$WORK/$dir/data/postgresql.conf" <<CONF
shared_buffers = 512MB
max_connections = 100
wal_level = minimal
max_wal_senders = 0
CONF
done
as_pg "$(pg_bindir)/pg_ctl" -D "$WORK/source/data" -w restart >/dev/null
as_pg "$(pg_bindir)/pg_ctl" -D "$WORK/target/data" -w restart >/dev/null
PSQL=(psql -X -q -v ON_ERROR_STOP=1)
SRC="postgres://postgres@127.0.0.1:$SP/postgres?sslmode=disable"
ADMIN="postgres://postgres@127.0.0.1:$TP/postgres?sslmode=disable"

echo "==> generating the dataset at scale $SCALE" >&2
t0=$(date +%s)
"${PSQL[@]}" -v scale="$SCALE" -d "$SRC" -f benches/dataset.sql >/dev/null
SIZE=$("${PSQL[@]}" -At -d "$SRC" -c "SELECT pg_size_pretty(sum(pg_table_size(oid))) FROM pg_class WHERE relnamespace = 'bench'::regnamespace AND relkind = 'r'")
echo "    $SIZE of table data in $(( $(date +%s) - t0 ))s" >&2
# The target keeps an empty copy of the schema (with indexes and foreign
# keys, as an ORM would have made it) as a template for each run.
"${PSQL[@]}" -d "$ADMIN" -c "CREATE DATABASE tmpl"
pg_dump --schema-only -d "$SRC" | "${PSQL[@]}" -d "postgres://postgres@127.0.0.1:$TP/tmpl?sslmode=disable" >/dev/null

# FRESH=tmpl: the target holds the empty schema (data-only settings);
# FRESH=empty: an empty database (full-copy setting).
FRESH=tmpl
fresh_target() {
  if [ "$FRESH" = empty ]; then
    "${PSQL[@]}" -d "$ADMIN" -c "DROP DATABASE IF EXISTS run" -c "CREATE DATABASE run"
  else
    "${PSQL[@]}" -d "$ADMIN" -c "DROP DATABASE IF EXISTS run" -c "CREATE DATABASE run TEMPLATE tmpl"
  fi
}

# measure NAME PORT COMMAND...: wall seconds, peak RSS (MiB), bytes.
RESULTS=()
measure() {
  local name=$1 port=$2; shift 2
  fresh_target
  local tgt="postgres://postgres@127.0.0.1:$port/run?sslmode=disable"
  local t0 t1 rss bytes before=0
  # The proxy's counters run on across tools: take the difference.
  [ -n "$PROXY_PID" ] && before=$(awk '{printf "%.0f\n", $1 + $2}' "$WORK/proxy.stats")
  t0=$(date +%s.%N)
  /usr/bin/time -f "%M" -o "$WORK/time.out" bash -c '"$@"' _ "$@" "$tgt" > "$WORK/out.log" 2>&1 || {
    echo "$name failed:" >&2; tail -20 "$WORK/out.log" >&2; RESULTS+=("$name failed - - -"); return; }
  t1=$(date +%s.%N)
  rss=$(( $(tail -n 1 "$WORK/time.out") / 1024 ))
  if [ -n "$PROXY_PID" ]; then sleep 1; bytes=$(( $(awk '{printf "%.0f\n", $1 + $2}' "$WORK/proxy.stats") - before ))
  elif [ -s "$WORK/bytes" ]; then bytes=$(cat "$WORK/bytes")
  else bytes=-; fi
  rm -f "$WORK/bytes"
  # Every tool must have moved every row.
  local rows
  rows=$("${PSQL[@]}" -At -d "postgres://postgres@127.0.0.1:$TP/run?sslmode=disable" -c \
    "SELECT (SELECT count(*) FROM bench.events) + (SELECT count(*) FROM bench.orders) + (SELECT count(*) FROM bench.accounts) + (SELECT count(*) FROM bench.attachments)")
  if [ "$rows" != "$EXPECTED_ROWS" ]; then
    echo "$name moved $rows rows, expected $EXPECTED_ROWS; its log ends:" >&2
    grep -iE "error|fail" "$WORK/out.log" | head -5 >&2 || tail -5 "$WORK/out.log" >&2
    RESULTS+=("$name incomplete - - -"); return
  fi
  RESULTS+=("$name $(echo "$t1 - $t0" | bc) $rss $bytes")
  echo "    $name: $(echo "$t1 - $t0" | bc)s, ${rss} MiB peak" >&2
}
EXPECTED_ROWS=$("${PSQL[@]}" -At -d "$SRC" -c \
  "SELECT (SELECT count(*) FROM bench.events) + (SELECT count(*) FROM bench.orders) + (SELECT count(*) FROM bench.accounts) + (SELECT count(*) FROM bench.attachments)")

run_pgbarge() { "$BIN" copy --data-only --quiet --schema bench --jobs "$JOBS" --source "$SRC" \
  --report "$WORK/report.json" --target "$1" >/dev/null && \
  python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['total_bytes'])" "$WORK/report.json" > "$WORK/bytes"; }
run_pgdump() { bash -c 'pg_dump --data-only --schema bench -d "$1" | tee >(wc -c > "$3") | psql -X -q -v ON_ERROR_STOP=1 -d "$2" >/dev/null' \
  bash "$SRC" "$1" "$WORK/bytes"; }
run_pgcopydb() { rm -rf "$WORK/pgcopydb"; pgcopydb copy table-data --source "$SRC" --target "$1" \
  --table-jobs "$JOBS" --dir "$WORK/pgcopydb" --not-consistent; }

full_pgbarge() { "$BIN" copy --quiet --schema bench --jobs "$JOBS" --source "$SRC" \
  --no-owner --no-privileges --target "$1" >/dev/null; }
full_pgdump() { pg_dump --schema bench --no-owner -d "$SRC" | psql -X -q -v ON_ERROR_STOP=1 -d "$1" >/dev/null; }
full_pgdump_dir() { rm -rf "$WORK/dump" && pg_dump -Fd -j "$JOBS" --schema bench --no-owner -f "$WORK/dump" -d "$SRC" \
  && pg_restore -j "$JOBS" --no-owner -d "$1" "$WORK/dump"; }
full_pgcopydb() { rm -rf "$WORK/pgcopydb"; pgcopydb clone --source "$SRC" --target "$1" --table-jobs "$JOBS" \
  --index-jobs "$JOBS" --dir "$WORK/pgcopydb" --no-owner --no-acl --skip-extensions; }
export -f run_pgbarge run_pgdump run_pgcopydb full_pgbarge full_pgdump full_pgdump_dir full_pgcopydb
export BIN SRC JOBS WORK

setting() {
  local label=$1 port=$2
  RESULTS=()
  echo "==> $label" >&2
  measure pgbarge "$port" run_pgbarge
  measure "pg_dump|psql" "$port" run_pgdump
  command -v pgcopydb >/dev/null 2>&1 && measure pgcopydb "$port" run_pgcopydb
  print_table "$label"
}

print_table() {
  local base
  base=$(echo "${RESULTS[0]}" | awk '{print $2}')
  echo
  echo "### $1 (scale $SCALE, $SIZE of table data, --jobs $JOBS)"
  echo
  echo "| tool | wall s | x pgbarge time | peak MiB | bytes moved |"
  echo "|---|---:|---:|---:|---:|"
  for r in "${RESULTS[@]}"; do
    set -- $r
    if [ "$2" = failed ] || [ "$2" = incomplete ]; then echo "| $1 | $2 | | | |"; continue; fi
    printf '| %s | %.1f | %.2f | %s | %s |\n' "$1" "$2" "$(echo "$2 / $base" | bc -l)" "$3" "$4"
  done
}

if [ "$DATA_ONLY" = 1 ]; then setting "local target" "$TP"; fi
if [ "$THROTTLED" = 1 ]; then
  "$PROXY" "$PP" "$TP" "$DELAY_MS" "$MBIT" "$WORK/proxy.stats" & PROXY_PID=$!
  sleep 0.5
  setting "target behind a ${DELAY_MS} ms, ${MBIT} Mbit/s link" "$PP"
fi

# Full copies (schema included) into an empty database, local target.
FRESH=empty
if [ "$FULL" = 1 ]; then
RESULTS=()
echo "==> full copy, local target" >&2
measure pgbarge "$TP" full_pgbarge
# verify --checksums of that copy against the source, timed against it.
t0=$(date +%s.%N)
if "$BIN" verify --quiet --checksums --schema bench --source "$SRC" \
    --target "postgres://postgres@127.0.0.1:$TP/run?sslmode=disable" > "$WORK/verify.log" 2>&1; then
  VERIFY_S=$(echo "$(date +%s.%N) - $t0" | bc)
  echo "    pgbarge verify --checksums: ${VERIFY_S}s" >&2
else
  echo "verify failed:" >&2; tail -5 "$WORK/verify.log" >&2; VERIFY_S=failed
fi
measure "pg_dump|psql" "$TP" full_pgdump
measure "pg_dump-Fd-j|pg_restore-j" "$TP" full_pgdump_dir
command -v pgcopydb >/dev/null 2>&1 && measure pgcopydb-clone "$TP" full_pgcopydb
print_table "full copy into an empty database, local target"
copy_s=$(echo "${RESULTS[0]}" | awk '{print $2}')
echo
if [ "$VERIFY_S" = failed ]; then echo "pgbarge verify --checksums of that copy: failed"
else printf 'pgbarge verify --checksums of that copy: %.1f s = %.2f x the copy'"'"'s time\n' "$VERIFY_S" "$(echo "$VERIFY_S / $copy_s" | bc -l)"
fi
fi

# Dumps of the source to local files, then restores of two of them.
DJ=2
measure_dump() {
  local name=$1 out=$2; shift 2
  rm -rf "$WORK/dumps"; mkdir -p "$WORK/dumps"
  local t0 t1 rss size
  t0=$(date +%s.%N)
  /usr/bin/time -f "%M" -o "$WORK/time.out" bash -c '"$@"' _ "$@" "$WORK/dumps/$out" > "$WORK/out.log" 2>&1 || {
    echo "$name failed:" >&2; tail -20 "$WORK/out.log" >&2; DRESULTS+=("$name failed - -"); return; }
  t1=$(date +%s.%N)
  rss=$(( $(tail -n 1 "$WORK/time.out") / 1024 ))
  size=$(du -sb "$WORK/dumps/$out" | cut -f1)
  DRESULTS+=("$name $(echo "$t1 - $t0" | bc) $rss $size")
  echo "    $name: $(echo "$t1 - $t0" | bc)s, $size bytes, ${rss} MiB peak" >&2
  # Keep the two archives the restores use.
  case "$name" in
    pgbarge-gzip6) rm -rf "$WORK/keep-pgbarge"; mv "$WORK/dumps/$out" "$WORK/keep-pgbarge" ;;
    pg_dump-Fd-j2) rm -rf "$WORK/keep-pgdump"; mv "$WORK/dumps/$out" "$WORK/keep-pgdump" ;;
  esac
}
dump_pgbarge() { "$BIN" dump --quiet --schema bench --jobs "$DJ" --source "$SRC" --compress "$1" --output "$2" >/dev/null; }
dump_gzip6() { dump_pgbarge gzip:6 "$1"; }
dump_zstd3() { dump_pgbarge zstd:3 "$1"; }
dump_fc() { pg_dump -Fc --schema bench -d "$SRC" -f "$1"; }
dump_fd() { pg_dump -Fd -j "$DJ" --schema bench -d "$SRC" -f "$1"; }
dump_pigz() { pg_dump --schema bench -d "$SRC" | pigz -6 -p "$(nproc)" > "$1"; }
restore_pgbarge() { "$BIN" restore --quiet --jobs "$DJ" --input "$WORK/keep-pgbarge" --target "$1" >/dev/null; }
restore_pgdump() { pg_restore -j "$DJ" -d "$1" "$WORK/keep-pgdump"; }
export -f dump_pgbarge dump_gzip6 dump_zstd3 dump_fc dump_fd dump_pigz restore_pgbarge restore_pgdump
export DJ

if [ "$DUMPS" = 1 ]; then
  DRESULTS=()
  echo "==> dumps to local files" >&2
  measure_dump pgbarge-gzip6 d dump_gzip6
  measure_dump pgbarge-zstd3 d dump_zstd3
  measure_dump pg_dump-Fd-j2 d dump_fd
  measure_dump pg_dump-Fc d.dump dump_fc
  measure_dump "pg_dump|pigz" d.sql.gz dump_pigz
  fd=$(printf '%s\n' "${DRESULTS[@]}" | awk '$1 == "pg_dump-Fd-j2" {print $2, $4}')
  echo
  echo "### dumps (scale $SCALE, $SIZE of table data, 2 jobs; ratios to pg_dump -Fd -j 2)"
  echo
  echo "| tool | wall s | x pg_dump -Fd -j 2 time | size MB | x its size | peak MiB |"
  echo "|---|---:|---:|---:|---:|---:|"
  for r in "${DRESULTS[@]}"; do
    set -- $r
    if [ "$2" = failed ]; then echo "| $1 | failed | | | | |"; continue; fi
    printf '| %s | %.1f | %.2f | %.1f | %.3f | %s |\n' "$1" "$2" "$(echo "$2 / ${fd% *}" | bc -l)" \
      "$(echo "$4 / 1000000" | bc -l)" "$(echo "$4 / ${fd#* }" | bc -l)" "$3"
  done
  RESULTS=()
  echo "==> restores into an empty database" >&2
  measure pgbarge-restore "$TP" restore_pgbarge
  measure pg_restore-j2 "$TP" restore_pgdump
  base=$(echo "${RESULTS[1]}" | awk '{print $2}')
  echo
  echo "### restores of those dumps (gzip), local target; ratio to pg_restore -j 2"
  echo
  echo "| tool | wall s | x pg_restore time | peak MiB |"
  echo "|---|---:|---:|---:|"
  for r in "${RESULTS[@]}"; do
    set -- $r
    if [ "$2" = failed ] || [ "$2" = incomplete ]; then echo "| $1 | $2 | | |"; continue; fi
    printf '| %s | %.1f | %.2f | %s |\n' "$1" "$2" "$(echo "$2 / $base" | bc -l)" "$3"
  done
fi
