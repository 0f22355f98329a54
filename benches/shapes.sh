#!/usr/bin/env bash
# Shapes of data pgbarge was not tuned on: the same four measures on each,
# side by side with the peers in one run, reported as ratios.
#
#   benches/shapes.sh [--mb N] [--jobs N] [SHAPE ...]
#
# SHAPE (default: all of them, in this order):
#   pgbench     pgbench's own tables (pgbench -i, with its foreign keys)
#   text        long text: articles of random words, titles, tag arrays
#   bytea       random 1-16 KB blobs (nothing compresses)
#   wide        100 columns of mixed types per row
#   partitions  an events table in 120 monthly partitions, indexed
# Each shape is about --mb MiB of table data (default 400).
#
# Measures, each tool once per shape into a fresh database:
#   copy       pgbarge copy --jobs N | pg_dump | psql | pg_dump -Fd -j N + pg_restore -j N
#   data-only  into a target holding the schema (indexes, keys):
#              pgbarge copy --data-only --truncate --jobs N | pg_dump --data-only | psql
#   dump       pgbarge dump gzip:6 and zstd:3 (--jobs N) | pg_dump -Fd -j N
#   restore    pgbarge restore --jobs N of its gzip:6 dump | pg_restore -j N of pg_dump's
# The ratio is pgbarge's time over the fastest peer's (below 1: pgbarge is
# faster). Every copy and restore is checked to hold every row. Single
# runs on a shared 2-core machine vary by 20-30%: read the ratios, not the
# seconds, and see benches/alternate.sh for taking turns.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

MB=400 JOBS=2 SHAPES=()
while [ $# -gt 0 ]; do
  case "$1" in
    --mb) MB=$2; shift 2 ;;
    --jobs) JOBS=$2; shift 2 ;;
    pgbench|text|bytea|wide|partitions) SHAPES+=("$1"); shift ;;
    *) echo "unknown option $1 (see the header of $0)" >&2; exit 2 ;;
  esac
done
[ ${#SHAPES[@]} -gt 0 ] || SHAPES=(pgbench text bytea wide partitions)

ensure_rust
ensure_postgres
echo "==> building" >&2
cargo build --release --quiet --bin pgbarge
BIN=$PWD/target/release/pgbarge
PGB=$(pg_bindir)

WORK=$(mktemp -d /tmp/pgbarge-shapes.XXXXXX); chmod 755 "$WORK"
cleanup() { stop_server "$WORK/source"; stop_server "$WORK/target"; rm -rf "$WORK"; }
trap cleanup EXIT
start_bench_servers "$WORK"
PSQL=(psql -X -q -v ON_ERROR_STOP=1)
export PGOPTIONS="-c client_min_messages=warning"
url() { echo "postgres://postgres@127.0.0.1:$1/$2?sslmode=disable"; }
SRC=$(url "$SP" src)

# Rows in every user table of a database, counted one by one.
ROWS_SQL="SELECT coalesce(sum((xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM ONLY %s', c.oid::regclass), false, true, '')))[1]::text::bigint), 0)
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema', '_pgbarge')"

generate() {
  local shape=$1
  "${PSQL[@]}" -d "$(url "$SP" postgres)" -c "DROP DATABASE IF EXISTS src" -c "CREATE DATABASE src"
  case "$shape" in
    pgbench)
      # Scale 1 is about 15 MiB.
      "$PGB/pgbench" -q -i -s $(( (MB + 14) / 15 )) --foreign-keys -h 127.0.0.1 -p "$SP" -U postgres src >/dev/null 2>&1 ;;
    text)
      "${PSQL[@]}" -d "$SRC" -v rows=$(( MB * 350 )) <<'SQL' ;;
CREATE TABLE articles (id bigint PRIMARY KEY, title text NOT NULL, body text NOT NULL, tags text[] NOT NULL, published date);
WITH v AS (SELECT ARRAY(SELECT substr(md5(g::text), 1, 3 + g % 8) FROM generate_series(0, 4999) g) AS w)
INSERT INTO articles
SELECT g, initcap(w[1 + g % 5000] || ' ' || w[1 + (g * 7) % 5000] || ' ' || w[1 + (g * 13) % 5000]),
       array_to_string(ARRAY(SELECT w[1 + abs(hashint8(g * 1000 + k)) % 5000] FROM generate_series(1, 400) k), ' '),
       ARRAY[w[1 + g % 5000], w[1 + (g * 3) % 5000]], date '2015-01-01' + (g % 3000)
  FROM v, generate_series(1, :rows) g;
CREATE INDEX articles_published ON articles (published);
SQL
    bytea)
      "${PSQL[@]}" -d "$SRC" -v rows=$(( MB * 120 )) <<'SQL' ;;
CREATE EXTENSION pgcrypto;
CREATE TABLE blobs (id bigint PRIMARY KEY, name text NOT NULL, body bytea NOT NULL);
-- gen_random_bytes gives at most 1 KB at a time.
INSERT INTO blobs
SELECT g, 'file' || g, (SELECT string_agg(gen_random_bytes(1024), ''::bytea) FROM generate_series(0, (g * 7919) % 16) k)
  FROM generate_series(1, :rows) g;
SQL
    wide)
      "${PSQL[@]}" -d "$SRC" -v rows=$(( MB * 1000 )) <<'SQL' ;;
SELECT setseed(0.3) AS seed \gset
SELECT format('CREATE TABLE wide (id bigint PRIMARY KEY, %s)',
              string_agg(format('c%s %s', i, (ARRAY['integer', 'text', 'numeric(12,3)', 'timestamptz', 'boolean'])[1 + i % 5]), ', '))
  FROM generate_series(1, 99) i \gexec
SELECT format('INSERT INTO wide SELECT g, %s FROM generate_series(1, %s) g',
              string_agg(CASE i % 5 WHEN 0 THEN '(random() * 1e6)::int' WHEN 1 THEN 'md5(g::text || ' || i || ')'
                                    WHEN 2 THEN '(random() * 1e6)::numeric(12,3)' WHEN 3 THEN 'now() - random() * interval ''900 days'''
                                    ELSE 'random() > 0.5' END, ', '), :rows)
  FROM generate_series(1, 99) i \gexec
SQL
    partitions)
      "${PSQL[@]}" -d "$SRC" -v rows=$(( MB * 10000 )) <<'SQL' ;;
SELECT setseed(0.4) AS seed \gset
CREATE TABLE events (id bigint NOT NULL, at timestamptz NOT NULL, kind text NOT NULL, account int NOT NULL, payload jsonb)
  PARTITION BY RANGE (at);
SELECT format('CREATE TABLE events_%s PARTITION OF events FOR VALUES FROM (%L) TO (%L)',
              to_char(m, 'YYYYMM'), m, m + interval '1 month')
  FROM generate_series(timestamptz '2015-01-01', timestamptz '2024-12-01', interval '1 month') m \gexec
ALTER TABLE events ADD PRIMARY KEY (id, at);
CREATE INDEX events_account ON events (account, at);
INSERT INTO events
SELECT g, timestamptz '2015-01-01' + (g % 3650) * interval '1 day' + (g % 86400) * interval '1 second',
       (ARRAY['click', 'view', 'buy', 'login'])[1 + g % 4], ((g * 7919) % 100000)::int,
       jsonb_build_object('v', g % 1000, 'ok', g % 3 = 0)
  FROM generate_series(1::bigint, :rows) g;
SQL
  esac
  "${PSQL[@]}" -d "$SRC" -c "VACUUM ANALYZE"
}

fresh() {
  "${PSQL[@]}" -d "$(url "$TP" postgres)" -c "DROP DATABASE IF EXISTS run" -c "CHECKPOINT" \
    -c "CREATE DATABASE run${1:+ TEMPLATE $1}"
}

# timed NAME COMMAND...: wall seconds of one run (failing loudly), into T.
timed() {
  local name=$1; shift
  local t0 t1
  t0=$(date +%s.%N)
  if ! "$@" >"$WORK/out.log" 2>&1; then
    echo "$name failed; its output ends:" >&2; tail -15 "$WORK/out.log" >&2; exit 1
  fi
  t1=$(date +%s.%N)
  T=$(echo "$t1 - $t0" | bc)
  echo "    $name: ${T}s" >&2
}

# The target must hold every row after a copy or restore.
check_rows() {
  local got
  got=$("${PSQL[@]}" -At -d "$(url "$TP" run)" -c "$ROWS_SQL")
  if [ "$got" != "$EXPECTED" ]; then
    echo "$1 left $got rows on the target, not $EXPECTED" >&2; exit 1
  fi
}

pipe_sh() { bash -c "$1"; }
LINES=()
# row SHAPE MEASURE PGBARGE_S PEER PEER_S
row() { LINES+=("| $1 | $2 | $3 | $4 | $5 | $(echo "scale=2; $3 / $5" | bc | sed 's/^\./0./') |"); }

for shape in "${SHAPES[@]}"; do
  echo "==> $shape: generating about $MB MiB" >&2
  generate "$shape"
  EXPECTED=$("${PSQL[@]}" -At -d "$SRC" -c "$ROWS_SQL")
  SIZE=$("${PSQL[@]}" -At -d "$SRC" -c "SELECT pg_size_pretty(sum(pg_table_size(c.oid))) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND n.nspname = 'public'")
  echo "    $EXPECTED rows, $SIZE of tables" >&2
  D=$(url "$TP" run)

  fresh; timed "pgbarge copy" "$BIN" copy --quiet --jobs "$JOBS" --source "$SRC" --target "$D"; check_rows "pgbarge copy"; mine=$T
  fresh; timed "pg_dump | psql" pipe_sh "pg_dump -d '$SRC' | psql -X -q -v ON_ERROR_STOP=1 -d '$D' >/dev/null"; check_rows "pg_dump | psql"; a=$T
  rm -rf "$WORK/fd"
  fresh; timed "pg_dump -Fd + pg_restore" pipe_sh "pg_dump -Fd -j $JOBS -f '$WORK/fd' -d '$SRC' && pg_restore -j $JOBS -d '$D' '$WORK/fd'"; check_rows "pg_restore"; b=$T
  if (( $(echo "$a < $b" | bc) )); then row "$shape" copy "$mine" "pg_dump \\| psql" "$a"; else row "$shape" copy "$mine" "pg_dump -Fd + pg_restore -j $JOBS" "$b"; fi

  "${PSQL[@]}" -d "$(url "$TP" postgres)" -c "DROP DATABASE IF EXISTS tmpl" -c "CREATE DATABASE tmpl"
  pg_dump --schema-only -d "$SRC" | "${PSQL[@]}" -d "$(url "$TP" tmpl)" >/dev/null
  fresh tmpl; timed "pgbarge copy --data-only" "$BIN" copy --quiet --data-only --truncate --jobs "$JOBS" --source "$SRC" --target "$D"; check_rows "pgbarge copy --data-only"; mine=$T
  fresh tmpl; timed "pg_dump --data-only | psql" pipe_sh "pg_dump --data-only -d '$SRC' | psql -X -q -v ON_ERROR_STOP=1 -d '$D' >/dev/null"; check_rows "pg_dump --data-only"; a=$T
  row "$shape" "data-only, indexed target" "$mine" "pg_dump --data-only \\| psql" "$a"

  rm -rf "$WORK/fd" "$WORK/gz" "$WORK/zst"
  timed "pg_dump -Fd" pg_dump -Fd -j "$JOBS" -f "$WORK/fd" -d "$SRC"; peer=$T
  timed "pgbarge dump gzip:6" "$BIN" dump --quiet --jobs "$JOBS" --compress gzip:6 --source "$SRC" --output "$WORK/gz"; row "$shape" "dump gzip:6" "$T" "pg_dump -Fd -j $JOBS" "$peer"
  timed "pgbarge dump zstd:3" "$BIN" dump --quiet --jobs "$JOBS" --compress zstd:3 --source "$SRC" --output "$WORK/zst"; row "$shape" "dump zstd:3" "$T" "pg_dump -Fd -j $JOBS" "$peer"
  echo "    sizes: pg_dump -Fd $(du -sh "$WORK/fd" | cut -f1), gzip:6 $(du -sh "$WORK/gz" | cut -f1), zstd:3 $(du -sh "$WORK/zst" | cut -f1)" >&2

  fresh; timed "pgbarge restore" "$BIN" restore --quiet --jobs "$JOBS" --input "$WORK/gz" --target "$D"; check_rows "pgbarge restore"; mine=$T
  fresh; timed "pg_restore" pg_restore -j "$JOBS" -d "$D" "$WORK/fd"; check_rows "pg_restore"; a=$T
  row "$shape" "restore" "$mine" "pg_restore -j $JOBS" "$a"
done

echo
echo "| shape | measure | pgbarge s | fastest peer | peer s | ratio |"
echo "|---|---|---|---|---|---|"
printf '%s\n' "${LINES[@]}"
