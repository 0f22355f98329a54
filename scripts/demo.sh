#!/usr/bin/env bash
# The built-in demo: starts two throwaway PostgreSQL servers, loads a sample
# database under schema local_app on the source, moves it into public on the
# target with pgbarge, and checks the result independently with psql.
# Installs the PostgreSQL server binaries (Debian package postgresql) when
# they are missing. Leaves behind, for a look: target/demo-report.json,
# target/demo-dump/ and target/demo.sql.gz (replaced on the next run).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_rust
ensure_postgres

echo "==> building pgbarge (release; the first build takes several minutes)"
cargo build --release
BIN=$PWD/target/release/pgbarge

WORK=$(mktemp -d /tmp/pgbarge-demo.XXXXXX)
chmod 755 "$WORK"
cleanup() { stop_server "$WORK/source"; stop_server "$WORK/target"; rm -rf "$WORK"; }
trap cleanup EXIT

SP=$(free_port); TP=$(free_port)
while [ "$TP" = "$SP" ]; do TP=$(free_port); done
echo "==> starting a source server on port $SP and a target server on port $TP"
start_server "$WORK/source" "$SP"
start_server "$WORK/target" "$TP"
SRC="postgres://postgres@127.0.0.1:$SP/postgres?sslmode=disable"
TGT="postgres://postgres@127.0.0.1:$TP/postgres?sslmode=disable"
PSQL=(psql -X -q -v ON_ERROR_STOP=1)

echo "==> loading the sample database into schema local_app on the source"
"${PSQL[@]}" -v schema=local_app -d "$SRC" -f demo/sample.sql
"${PSQL[@]}" -v schema=local_app -d "$SRC" -f demo/sample_data.sql >/dev/null

echo "==> pgbarge plan: what the copy would do and what would stop it (writes nothing)"
"$BIN" plan --source "$SRC" --target "$TGT" --schema local_app --schema-map local_app=public \
    --no-owner --no-privileges

echo "==> pgbarge copy --schema local_app --schema-map local_app=public (schema and rows)"
"$BIN" copy --source "$SRC" --target "$TGT" \
    --schema local_app --schema-map local_app=public --no-owner --no-privileges --jobs 4 \
    --report target/demo-report.json

echo "==> pgbarge verify --checksums (rows, content checksums, constraints, indexes, sequences)"
"$BIN" verify --source "$SRC" --target "$TGT" --schema local_app --schema-map local_app=public --checksums

echo "==> checking every table independently (row count and md5 of all rows)"
digest() {
  "${PSQL[@]}" -At -d "$1" -c \
    "SELECT count(*) || ' ' || md5(coalesce(string_agg(r::text, E'\n' ORDER BY r::text), '')) FROM $2 AS r"
}
fail=0
for t in categories customers products orders order_items events_2025 events_2026 events_other; do
  a=$(digest "$SRC" "local_app.$t"); b=$(digest "$TGT" "public.$t")
  if [ "$a" = "$b" ]; then printf '  ok        %-14s %s rows\n' "$t" "${a%% *}"
  else printf '  MISMATCH  %-14s source %s, target %s\n' "$t" "$a" "$b"; fail=1; fi
done
note=$("${PSQL[@]}" -At -d "$TGT" -c "SELECT profile->>'note' FROM public.customers WHERE id = 1")
echo "  data untouched by the rename: customers.profile->>'note' = '$note'"
next=$("${PSQL[@]}" -At -d "$TGT" -c "INSERT INTO public.orders (customer_id, placed_at) VALUES (1, now()) RETURNING id")
echo "  sequences carried over: the next order on the target gets id $next"

echo "==> checking the schema: copy public back to local_app in a scratch database, compare pg_dump -s"
"${PSQL[@]}" -d "$TGT" -c "CREATE DATABASE roundtrip"
BACK="postgres://postgres@127.0.0.1:$TP/roundtrip?sslmode=disable"
"$BIN" copy --quiet --source "$TGT" --target "$BACK" --schema public --schema-map public=local_app \
    --no-owner --no-privileges >/dev/null
schema_of() { pg_dump --schema-only --no-owner --schema local_app -d "$1" | grep -vE '^(--|SET |\\(un)?restrict|$)'; }
if diff <(schema_of "$SRC") <(schema_of "$BACK") >/dev/null; then
  echo "  ok        pg_dump --schema-only of the source equals the round trip ($(schema_of "$SRC" | wc -l) lines)"
else
  echo "  MISMATCH  schema differs:"; diff <(schema_of "$SRC") <(schema_of "$BACK") | head -20; fail=1
fi

echo "==> pgbarge dump: a compressed backup of the source (directory format, zstd), checked offline"
rm -rf target/demo-dump target/demo.sql.gz
"$BIN" dump --quiet --source "$SRC" --schema local_app --output target/demo-dump --compress zstd:3
"$BIN" verify --input target/demo-dump | tail -n 1
echo "==> pgbarge restore of it into a new database, under a new schema name, verified against the source and the dump"
"${PSQL[@]}" -d "$TGT" -c "CREATE DATABASE restored"
RESTORED="postgres://postgres@127.0.0.1:$TP/restored?sslmode=disable"
"$BIN" restore --quiet --input target/demo-dump --target "$RESTORED" --schema-map local_app=shop \
    --no-owner --no-privileges >/dev/null
"$BIN" verify --source "$SRC" --target "$RESTORED" --schema local_app --schema-map local_app=shop \
    --checksums | tail -n 1
"$BIN" verify --input target/demo-dump --target "$RESTORED" --schema-map local_app=shop \
    --checksums | tail -n 1
echo "==> pgbarge dump --format sql: a plain .sql.gz that psql restores"
"$BIN" dump --quiet --source "$SRC" --schema local_app --output target/demo.sql.gz
"${PSQL[@]}" -d "$TGT" -c "CREATE DATABASE viapsql"
VIAPSQL="postgres://postgres@127.0.0.1:$TP/viapsql?sslmode=disable"
gunzip -c target/demo.sql.gz | "${PSQL[@]}" -d "$VIAPSQL" >/dev/null
"$BIN" verify --source "$SRC" --target "$VIAPSQL" --schema local_app --checksums | tail -n 1
echo "==> left for a look: target/demo-report.json (the copy's report), target/demo-dump/ and target/demo.sql.gz (the dumps)"
if [ "$fail" = 0 ]; then echo "demo OK"; else echo "demo FAILED" >&2; exit 1; fi
