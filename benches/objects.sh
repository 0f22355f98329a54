#!/usr/bin/env bash
# Many-objects benchmark (schema-heavy moves): a schema of N small tables,
# each with a primary key, an index, a foreign key, a view, a function and
# a comment (benches/objects.sql), copied into an empty database by
# `pgbarge copy`, `pg_dump | psql` and `pg_dump -Fd -j J` + `pg_restore
# -j J`, side by side in one run, in three settings: a local target, a
# target behind a link with latency only, and behind latency plus a
# bandwidth cap (a user-space proxy; see examples/throttle_proxy.rs).
# Prints wall times, ratios to the fastest peer, and the round trips each
# tool made to the target (counted by the proxy: one per time a session
# waited for the server's answer); for pgbarge also its own phase times.
#
#   benches/objects.sh [--tables N] [--jobs J] [--runs K] [--rtt-ms R] [--mbit M] [--local-only] [--link-only] [--tmpfs] [--pgbarge-only]
#
# Defaults: 500 tables, 2 jobs, 1 run, a 20 ms round-trip time (the proxy
# delays each direction by half), 100 Mbit/s for the capped setting. With
# --runs K the tools take turns K times (pgbarge, the peers, pgbarge, ...)
# so that a slow spell of a shared machine hits them all alike; the table
# shows each tool's median and its range. --tmpfs puts both servers' data
# in /dev/shm: each run creates and drops a database of thousands of
# files, and on an ext4 disk every file created after many were deleted
# costs more (the kernel's inode allocator skips recently freed inodes,
# one by one), so on disk later runs are slower than earlier ones for
# every tool alike, by more than the differences measured.
# --pgbarge-only leaves the peers out (for a quick look while working on
# pgbarge; ratios need the peers).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

TABLES=500 JOBS=2 RUNS=1 RTT_MS=20 MBIT=100 LOCAL=1 LINK=1 BASE=/tmp PEERS=1
while [ $# -gt 0 ]; do
  case "$1" in
    --tables) TABLES=$2; shift 2 ;;
    --jobs) JOBS=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --rtt-ms) RTT_MS=$2; shift 2 ;;
    --mbit) MBIT=$2; shift 2 ;;
    --local-only) LINK=0; shift ;;
    --tmpfs) BASE=/dev/shm; shift ;;
    --link-only) LOCAL=0; shift ;;
    --pgbarge-only) PEERS=0; shift ;;
    *) echo "unknown option $1 (see the header of $0)" >&2; exit 2 ;;
  esac
done

ensure_rust
ensure_postgres
echo "==> building" >&2
cargo build --release --quiet --bin pgbarge --example throttle_proxy
BIN=$PWD/target/release/pgbarge
PROXY=$PWD/target/release/examples/throttle_proxy

WORK=$(mktemp -d "$BASE/pgbarge-objects.XXXXXX"); chmod 755 "$WORK"
PROXY_PID=
stop_proxy() { [ -n "$PROXY_PID" ] && kill "$PROXY_PID" 2>/dev/null; PROXY_PID=; }
cleanup() { stop_proxy || true; stop_server "$WORK/source"; stop_server "$WORK/target"; rm -rf "$WORK"; }
trap cleanup EXIT

SP=$(free_port); TP=$(free_port); PP=$(free_port)
start_server "$WORK/source" "$SP"
start_server "$WORK/target" "$TP"
PSQL=(psql -X -q -v ON_ERROR_STOP=1)
SRC="postgres://postgres@127.0.0.1:$SP/postgres?sslmode=disable"
ADMIN="postgres://postgres@127.0.0.1:$TP/postgres?sslmode=disable"

echo "==> generating $TABLES tables" >&2
"${PSQL[@]}" -v tables="$TABLES" -d "$SRC" -f benches/objects.sql >/dev/null
OBJECTS=$("${PSQL[@]}" -At -d "$SRC" -c "SELECT (SELECT count(*) FROM pg_class WHERE relnamespace = 'app'::regnamespace) + (SELECT count(*) FROM pg_constraint WHERE connamespace = 'app'::regnamespace) + (SELECT count(*) FROM pg_proc WHERE pronamespace = 'app'::regnamespace)")
EXPECTED=$("${PSQL[@]}" -At -d "$SRC" -c "SELECT count(*) FROM pg_class WHERE relnamespace = 'app'::regnamespace AND relkind = 'r'")

b_pgbarge() { "$BIN" copy --quiet --schema app --jobs "$JOBS" --source "$SRC" --no-owner --no-privileges \
  --report "$WORK/report.json" --target "$1" >/dev/null; }
b_pgdump() { pg_dump --schema app --no-owner -d "$SRC" | psql -X -q -v ON_ERROR_STOP=1 -d "$1" >/dev/null; }
b_pgrestore() { rm -rf "$WORK/dump" && pg_dump -Fd -j "$JOBS" --schema app --no-owner -f "$WORK/dump" -d "$SRC" \
  && pg_restore -j "$JOBS" --no-owner -d "$1" "$WORK/dump"; }
export -f b_pgbarge b_pgdump b_pgrestore
export BIN SRC JOBS WORK

turns() { if [ -n "$PROXY_PID" ]; then awk '{print $3}' "$WORK/proxy.stats"; else echo 0; fi; }

# measure NAME PORT FUNCTION: one run into a fresh empty database.
measure() {
  local name=$1 port=$2 f=$3 t0 t1 before after tables phases=
  "${PSQL[@]}" -d "$ADMIN" -c "DROP DATABASE IF EXISTS run" -c "CREATE DATABASE run"
  before=$(turns)
  t0=$(date +%s.%N)
  if ! "$f" "postgres://postgres@127.0.0.1:$port/run?sslmode=disable" > "$WORK/out.log" 2>&1; then
    echo "$name failed:" >&2; tail -5 "$WORK/out.log" >&2; RESULTS+=("$name failed -"); return
  fi
  t1=$(date +%s.%N)
  sleep 0.6
  after=$(turns)
  tables=$("${PSQL[@]}" -At -d "postgres://postgres@127.0.0.1:$TP/run?sslmode=disable" \
    -c "SELECT count(*) FROM pg_class WHERE relnamespace = 'app'::regnamespace AND relkind = 'r'")
  if [ "$tables" != "$EXPECTED" ]; then
    echo "$name made $tables tables of $EXPECTED" >&2; RESULTS+=("$name incomplete -"); return
  fi
  if [ "$name" = pgbarge ]; then
    # Its phases from its report: until the first row moved, the rows,
    # after the rows; behind the proxy, the round trips made in each (from
    # the proxy's series of turns, a tenth of a second apart).
    local series=
    [ -z "$PROXY_PID" ] || series="$WORK/proxy.stats.series"
    phases=$(python3 - "$WORK/report.json" "$t0" "$series" "$before" "$after" <<'PY'
import json, os, sys
r = json.load(open(sys.argv[1])); s = r['schema']
t0, first = float(sys.argv[2]), r.get('seconds_to_first_row')
out = '%.1f s to the first row, %.1f s of schema before the rows, %.1f s after' % (
    first or 0, s['seconds_before_rows'], s['seconds_after_rows'])
if first is not None and sys.argv[3] and os.path.exists(sys.argv[3]):
    series = [tuple(map(float, l.split())) for l in open(sys.argv[3]) if l.strip()]
    def at(t):
        seen = [n for (when, n) in series if when <= t]
        return seen[-1] if seen else 0
    start, end = float(sys.argv[4]), float(sys.argv[5])
    cut1 = t0 + first
    cut2 = t0 + r['seconds'] - s['seconds_after_rows']
    out += '; round trips %d before the rows, %d rows, %d after' % (
        at(cut1) - start, at(cut2) - at(cut1), end - at(cut2))
print(out)
PY
)
  fi
  local rt=$(( after - before ))
  [ -n "$PROXY_PID" ] || rt=-
  RESULTS+=("$name $(echo "$t1 - $t0" | bc) $rt")
  echo "    $name: $(echo "$t1 - $t0" | bc) s, round trips $rt${phases:+; $phases}" >&2
}

print_table() {
  echo
  echo "### $1 ($TABLES tables, $OBJECTS objects, --jobs $JOBS, $RUNS run(s) each, median [range])"
  echo
  printf '%s\n' "${RESULTS[@]}" | python3 -c '
import sys, statistics
runs = {}
for line in sys.stdin:
    name, secs, rt = line.split()
    runs.setdefault(name, []).append((secs, rt))
def median(v):
    return statistics.median(v) if v else None
rows = []
for name, rs in runs.items():
    ok = [float(s) for s, _ in rs if s not in ("failed", "incomplete")]
    rts = [int(r) for s, r in rs if r.isdigit()]
    rows.append((name, ok, len(rs) - len(ok), median(rts)))
peers = [median(ok) for name, ok, bad, _ in rows if name != "pgbarge" and ok and not bad]
best = min(peers) if peers else None
print("| tool | wall s | x fastest peer | round trips to the target |")
print("|---|---:|---:|---:|")
for name, ok, bad, rt in rows:
    if bad or not ok:
        print("| %s | failed or incomplete in %d run(s) | | |" % (name, bad)); continue
    m = median(ok)
    spread = " [%.1f-%.1f]" % (min(ok), max(ok)) if len(ok) > 1 else ""
    ratio = "%.2f" % (m / best) if best else ""
    print("| %s | %.1f%s | %s | %s |" % (name, m, spread, ratio, "-" if rt is None else "%d" % rt))
'
}

setting() {
  local label=$1 port=$2
  RESULTS=()
  echo "==> $label" >&2
  for _ in $(seq "$RUNS"); do
    measure pgbarge "$port" b_pgbarge
    [ "$PEERS" = 1 ] || continue
    measure "pg_dump|psql" "$port" b_pgdump
    measure "pg_dump-Fd-j$JOBS+pg_restore-j$JOBS" "$port" b_pgrestore
  done
  print_table "$label"
}

if [ "$LOCAL" = 1 ]; then setting "local target" "$TP"; fi
if [ "$LINK" = 1 ]; then
  for mbit in 0 "$MBIT"; do
    rm -f "$WORK/proxy.stats.series"
    "$PROXY" "$PP" "$TP" "$(echo "$RTT_MS / 2" | bc -l)" "$mbit" "$WORK/proxy.stats" & PROXY_PID=$!
    sleep 0.5
    if [ "$mbit" = 0 ]; then label="target behind a link of ${RTT_MS} ms round trip, no bandwidth cap"
    else label="target behind a link of ${RTT_MS} ms round trip, ${mbit} Mbit/s"; fi
    setting "$label" "$PP"
    stop_proxy
    sleep 0.5
  done
fi
