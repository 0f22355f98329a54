#!/usr/bin/env bash
# The real-schema corpus: schemas other projects wrote, taken from the
# package registries (Debian, npm and PyPI) the way their users install them,
# and turned into one SQL file each that psql loads into an empty
# database under a schema of its own. Nothing of them is committed: this
# script fetches them into a cache and tests/e2e/corpus.rs moves each one.
#
#   scripts/corpus.sh [CACHE_DIR]     (default: target/corpora)
#
# Each corpus ends up as CACHE_DIR/NAME.sql; CACHE_DIR/SOURCES lists where
# each came from (package, version, file, licence). tests/corpora/README.md
# says what each holds and what passes.
set -euo pipefail
cd "$(dirname "$0")/.."
cache="${1:-${PGBARGE_CORPUS_DIR:-target/corpora}}"
mkdir -p "$cache/pkg"
cache="$(cd "$cache" && pwd)"
work="$cache/pkg"

. scripts/lib.sh

# deb PACKAGE DIR...: download a Debian package (not installed) and keep
# only the directories of it that hold the schema.
deb() {
    local pkg=$1 dir="$work/deb-$1"
    shift
    [ -d "$dir" ] && return 0
    local tmp
    tmp=$(mktemp -d "$work/.dl.XXXXXX")
    if ! (cd "$tmp" && apt-get download -q "$pkg" >/dev/null 2>&1); then
        as_root apt-get update -qq >/dev/null
        (cd "$tmp" && apt-get download -q "$pkg" >/dev/null) || {
            echo "corpus: cannot download Debian package $pkg" >&2
            rm -rf "$tmp"
            return 1
        }
    fi
    mkdir -p "$tmp/x" "$tmp/keep"
    dpkg-deb -x "$tmp"/*.deb "$tmp/x"
    local d
    for d in "$@"; do
        mkdir -p "$tmp/keep/$(dirname "$d")"
        mv "$tmp/x/$d" "$tmp/keep/$d"
    done
    echo "$pkg $(dpkg-deb -f "$tmp"/*.deb Version)" >"$tmp/keep/.version"
    mv "$tmp/keep" "$dir"
    rm -rf "$tmp"
}

# npm PACKAGE@VERSION: download and unpack an npm package.
npmpkg() {
    local spec=$1 dir="$work/npm-${1//[@\/]/_}"
    [ -d "$dir" ] && return 0
    command -v npm >/dev/null || { echo "corpus: npm is needed for $spec" >&2; return 1; }
    local tmp
    tmp=$(mktemp -d "$work/.dl.XXXXXX")
    (cd "$tmp" && npm pack --silent "$spec" >/dev/null) || {
        echo "corpus: cannot download npm package $spec" >&2
        rm -rf "$tmp"
        return 1
    }
    mkdir -p "$tmp/x"
    tar xzf "$tmp"/*.tgz -C "$tmp/x"
    echo "$spec" >"$tmp/x/.version"
    mv "$tmp/x" "$dir"
    rm -rf "$tmp"
}

# pypi PACKAGE==VERSION: download a wheel (not installed) and unpack it.
pypipkg() {
    local spec=$1 dir="$work/pypi-${1//==/-}"
    [ -d "$dir" ] && return 0
    local tmp
    tmp=$(mktemp -d "$work/.dl.XXXXXX")
    python3 -m pip download -q --no-deps --only-binary=:all: -d "$tmp" "$spec" >/dev/null || {
        echo "corpus: cannot download PyPI package $spec" >&2
        rm -rf "$tmp"
        return 1
    }
    mkdir -p "$tmp/x"
    python3 -m zipfile -e "$tmp"/*.whl "$tmp/x"
    echo "$spec" >"$tmp/x/.version"
    mv "$tmp/x" "$dir"
    rm -rf "$tmp"
}

sources="$cache/SOURCES.new"
: >"$sources"
# emit NAME SCHEMA LICENCE ORIGIN: stdin becomes NAME.sql, loaded with
# search_path set to SCHEMA (created first).
emit() {
    local name=$1 schema=$2 licence=$3 origin=$4
    {
        # A schema that the SQL creates itself is named with a leading "=".
        if [ "${schema#=}" = "$schema" ]; then
            echo "CREATE SCHEMA IF NOT EXISTS \"$schema\";"
            echo "SET search_path = \"$schema\", public;"
        fi
        cat
    } >"$cache/$name.sql.tmp"
    mv "$cache/$name.sql.tmp" "$cache/$name.sql"
    printf '%s\t%s\t%s\t%s\n' "$name" "$schema" "$licence" "$origin" >>"$sources"
}

version() { cat "$1/.version"; }

# Zabbix 6.0: a monitoring server, ~170 tables, its shipped rows too.
deb zabbix-server-pgsql usr/share/zabbix-server-pgsql
d="$work/deb-zabbix-server-pgsql/usr/share/zabbix-server-pgsql"
{ zcat "$d/schema.sql.gz"; zcat "$d/images.sql.gz"; zcat "$d/data.sql.gz"; } |
    emit zabbix local_zabbix GPL-2.0 "$(version "$work/deb-zabbix-server-pgsql"): schema.sql.gz, images.sql.gz, data.sql.gz"

# PowerDNS generic PostgreSQL backend.
deb pdns-backend-pgsql usr/share/pdns-backend-pgsql
cat "$work/deb-pdns-backend-pgsql/usr/share/pdns-backend-pgsql/schema/schema.pgsql.sql" |
    emit powerdns local_pdns GPL-2.0 "$(version "$work/deb-pdns-backend-pgsql"): schema/schema.pgsql.sql"

# Roundcube webmail.
deb roundcube-core usr/share/roundcube/SQL
cat "$work/deb-roundcube-core/usr/share/roundcube/SQL/postgres.initial.sql" |
    emit roundcube local_roundcube GPL-3.0 "$(version "$work/deb-roundcube-core"): SQL/postgres.initial.sql"

# MediaWiki 1.39.
deb mediawiki usr/share/mediawiki/maintenance/postgres
cat "$work/deb-mediawiki/usr/share/mediawiki/maintenance/postgres/tables-generated.sql" \
    "$work/deb-mediawiki/usr/share/mediawiki/maintenance/postgres/tables.sql" |
    emit mediawiki local_mediawiki GPL-2.0 "$(version "$work/deb-mediawiki"): maintenance/postgres/tables-generated.sql, tables.sql"

# Icinga 2 IDO (monitoring history).
deb icinga2-ido-pgsql usr/share/icinga2-ido-pgsql
cat "$work/deb-icinga2-ido-pgsql/usr/share/icinga2-ido-pgsql/schema/pgsql.sql" |
    emit icinga2 local_icinga GPL-2.0 "$(version "$work/deb-icinga2-ido-pgsql"): schema/pgsql.sql"

# Kamailio SIP server: the standard tables, then every module's.
deb kamailio-postgres-modules usr/share/kamailio/postgres
k="$work/deb-kamailio-postgres-modules/usr/share/kamailio/postgres"
{ cat "$k/standard-create.sql"; for f in "$k"/*-create.sql; do
    [ "$f" = "$k/standard-create.sql" ] || cat "$f"
done; } | emit kamailio local_kamailio GPL-2.0 "$(version "$work/deb-kamailio-postgres-modules"): postgres/*-create.sql"

# Bacula director catalog (the SQL inside its shell script).
deb bacula-director-pgsql usr/share/bacula-director
sed -n '/^psql.*<<END-OF-DATA/,/^END-OF-DATA/p' \
    "$work/deb-bacula-director-pgsql/usr/share/bacula-director/make_postgresql_tables" |
    sed '1d;$d' | sed 's/\${[a-z_]*}//g' |
    emit bacula local_bacula AGPL-3.0 "$(version "$work/deb-bacula-director-pgsql"): make_postgresql_tables"

# PgQ (SkyTools queue), the PL/pgSQL-only install: schema pgq, functions,
# triggers, inheritance.
deb postgresql-15-pgq3 usr/share/postgresql/15/contrib
cat "$work/deb-postgresql-15-pgq3/usr/share/postgresql/15/contrib/pgq_pl_only.sql" |
    emit pgq =pgq ISC "$(version "$work/deb-postgresql-15-pgq3"): contrib/pgq_pl_only.sql"

# Graphile Worker: a job queue's 19 migrations, applied in order.
npmpkg graphile-worker@0.17.3
g="$work/npm-graphile-worker_0.17.3/package/sql"
# Each runs in a transaction of its own, as graphile-worker runs them.
for f in "$g"/0*.sql; do
    echo "BEGIN;"
    sed 's/:GRAPHILE_WORKER_SCHEMA/local_worker/g' "$f"
    echo ";"
    echo "COMMIT;"
done |
    emit graphile_worker local_worker MIT "graphile-worker@0.17.3 (npm): sql/000001.sql .. sql/000019.sql"

# pg-boss: a job queue; its install SQL as the package builds it.
npmpkg pg-boss@10.4.2
(cd "$work/npm-pg-boss_10.4.2/package" &&
    node -e "process.stdout.write(require('./src/plans').create('local_boss', require('./version.json').schema) + ';\n')") |
    emit pgboss =local_boss MIT "pg-boss@10.4.2 (npm): src/plans.js create()"

# connect-pg-simple: an Express session store's table.
npmpkg connect-pg-simple@10.0.0
cat "$work/npm-connect-pg-simple_10.0.0/package/table.sql" |
    emit sessions local_sessions MIT "connect-pg-simple@10.0.0 (npm): table.sql"

# Request Tracker 5: a ticket system's ~30 tables, mixed-case names.
deb request-tracker5 usr/share/request-tracker5/etc
cat "$work/deb-request-tracker5/usr/share/request-tracker5/etc/schema.Pg" |
    emit rt local_rt GPL-2.0 "$(version "$work/deb-request-tracker5"): etc/schema.Pg"

# ejabberd: an XMPP server's multi-host schema.
deb ejabberd usr/share/ejabberd/sql
cat "$work/deb-ejabberd/usr/share/ejabberd/sql/pg.new.sql" |
    emit ejabberd local_ejabberd GPL-2.0+ "$(version "$work/deb-ejabberd"): sql/pg.new.sql"

# FreeRADIUS: accounting, IP pools and their plpgsql allocation, DHCP.
deb freeradius-config etc/freeradius/3.0/mods-config/sql
f="$work/deb-freeradius-config/etc/freeradius/3.0/mods-config/sql"
cat "$f/main/postgresql/schema.sql" "$f/ippool/postgresql/schema.sql" \
    "$f/ippool/postgresql/procedure.sql" "$f/dhcp/postgresql/schema.sql" |
    emit freeradius local_radius GPL-2.0+ "$(version "$work/deb-freeradius-config"): main, ippool (schema, procedure), dhcp postgresql/*.sql"

# DAViCal CalDAV server on the AWL library's tables, loaded as its
# create-database.sh does (the functions, views and base data too).
deb libawl-php usr/share/awl/dba
deb davical usr/share/davical/dba
a="$work/deb-libawl-php/usr/share/awl/dba"
d="$work/deb-davical/usr/share/davical/dba"
cat "$a/awl-tables.sql" "$a/schema-management.sql" "$d/davical.sql" \
    "$d/supported_locales.sql" "$d/views/dav_principal.sql" \
    "$d/caldav_functions.sql" "$d/rrule_functions.sql" "$d/base-data.sql" |
    emit davical local_davical GPL-2.0+ "$(version "$work/deb-davical"), $(version "$work/deb-libawl-php"): dba/*.sql as create-database.sh loads them"

# Matrix Synapse: its full schema 72 (a pg_dump of it) and every SQL
# delta after it, in the order Synapse applies them (Python deltas left
# out), with its placeholder for identity keys filled in as it does.
pypipkg matrix-synapse==1.163.2
m="$work/pypi-matrix-synapse-1.163.2/synapse/storage/schema"
{
    for p in common main state; do
        cat "$m/$p/full_schemas/72/full.sql.postgres"
        echo ";"
    done
    for v in $(cd "$m" && ls -d -- */delta/* | awk -F/ '$3 > 72 { print $3 }' | sort -n -u); do
        for p in common main state; do
            [ -d "$m/$p/delta/$v" ] || continue
            for f in $(cd "$m/$p/delta/$v" && ls | sort); do
                case $f in
                *.sql | *.sql.postgres) cat "$m/$p/delta/$v/$f"; echo ";" ;;
                esac
            done
        done
    done
} | sed 's/\$%AUTO_INCREMENT_PRIMARY_KEY%\$/BIGINT PRIMARY KEY GENERATED ALWAYS AS IDENTITY/g' |
    emit synapse local_synapse AGPL-3.0 "matrix-synapse==1.163.2 (PyPI): storage/schema full_schemas/72 and the SQL deltas after it"

mv "$sources" "$cache/SOURCES"
echo "corpus: $(wc -l <"$cache/SOURCES") schemas in $cache" >&2
