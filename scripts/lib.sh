# Shared helpers for scripts/*.sh: find or install PostgreSQL server
# binaries, and start/stop throwaway servers. Source it; do not run it.

# Print the directory holding initdb/pg_ctl, or nothing.
pg_bindir() {
  if [ -n "${PG_BIN:-}" ] && [ -x "$PG_BIN/initdb" ]; then echo "$PG_BIN"; return; fi
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -n "$d" ] && [ -x "$d/initdb" ]; then echo "$d"; return; fi
  if command -v initdb >/dev/null 2>&1; then dirname "$(command -v initdb)"; fi
}

# Run a command as root (directly, or through sudo).
as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo "$@"; else
    echo "error: need root (or sudo) to run: $*" >&2; return 1; fi
}

# Make sure PostgreSQL server binaries (and psql) are here; install the
# Debian package `postgresql` when they are not.
ensure_postgres() {
  if [ -z "$(pg_bindir)" ] || ! command -v psql >/dev/null 2>&1; then
    echo "==> PostgreSQL server binaries not found; installing the Debian package postgresql" >&2
    if ! command -v apt-get >/dev/null 2>&1; then
      echo "error: no apt-get here; install PostgreSQL server binaries and set PG_BIN" >&2
      return 1
    fi
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  fi
  if [ -z "$(pg_bindir)" ]; then
    echo "error: PostgreSQL server binaries still not found after installing" >&2
    return 1
  fi
  # PostgreSQL refuses to run as root: servers run as `postgres` then.
  if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
    useradd --system --no-create-home --shell /usr/sbin/nologin postgres
  fi
}

ensure_rust() {
  if ! command -v cargo >/dev/null 2>&1; then
    echo "error: cargo not found: install a Rust toolchain (https://rustup.rs) first" >&2
    return 1
  fi
}

# Run a command as the owner of the test servers.
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# A TCP port nobody listens on.
free_port() {
  local p
  while :; do
    p=$(( 20000 + RANDOM % 40000 ))
    if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then echo "$p"; return; fi
  done
}

# start_server DIR PORT: initdb + pg_ctl start, listening on 127.0.0.1.
start_server() {
  local dir=$1 port=$2 bin
  bin=$(pg_bindir)
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres: "$dir"
  as_pg "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-locale --no-sync >/dev/null
  cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
fsync = off
synchronous_commit = off
full_page_writes = off
max_wal_size = 4GB
CONF
  as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null
}

stop_server() {
  local dir=$1
  [ -d "$dir/data" ] && as_pg "$(pg_bindir)/pg_ctl" -D "$dir/data" -m fast stop >/dev/null 2>&1 || true
}

# start_bench_servers WORK: a source and a target server for benchmarks
# under WORK/source and WORK/target, tuned for bulk loads; sets SP and TP
# to their ports.
start_bench_servers() {
  local work=$1 dir
  SP=$(free_port); TP=$(free_port)
  start_server "$work/source" "$SP"
  start_server "$work/target" "$TP"
  for dir in source target; do
    printf 'shared_buffers = 512MB\nwal_level = minimal\nmax_wal_senders = 0\n' >>"$work/$dir/data/postgresql.conf"
    as_pg "$(pg_bindir)/pg_ctl" -D "$work/$dir/data" -w restart >/dev/null
  done
}
