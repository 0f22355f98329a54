#!/usr/bin/env bash
# Every pair of PostgreSQL major versions, 13 to 18, in both directions:
# the ugly-case fixture copied with --verify and compared row by row
# (tests/e2e/versions.rs). CI runs three pairs; this runs all of them and
# prints one line per pair (the README's table comes from it).
#
#   scripts/version-matrix.sh [MAJOR...]     (default: 13 14 15 16 17 18)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_rust
ensure_postgres
export PG_BIN="${PG_BIN:-$(pg_bindir)}"
majors=("$@")
[ ${#majors[@]} -gt 0 ] || majors=(13 14 15 16 17 18)
scripts/pg-versions.sh "${majors[@]}" >/dev/null
pairs=()
for a in "${majors[@]}"; do
  for b in "${majors[@]}"; do
    [ "$a" = "$b" ] || pairs+=("$a:$b")
  done
done
PGBARGE_VERSION_PAIRS=$(IFS=,; echo "${pairs[*]}") \
  cargo test --test e2e versions:: -- --nocapture 2>&1 | grep -E '^version pair|^test result' || true
