# Shared by start.sh and stop.sh: where the cluster lives, which binaries run it, and as whom.
# Sourced, not executed. Every message goes to stderr so start.sh's stdout is only the URL.

SERVICE=postgres
# shellcheck source=infra/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
PGPORT="${PGPORT:-54329}"
POSTGRES_USER="${POSTGRES_USER:-marquee}"
POSTGRES_PASSWORD="${POSTGRES_PASSWORD:-marquee}"
POSTGRES_DB="${POSTGRES_DB:-marquee}"

# The newest Debian-installed server first, then whatever is on PATH. PG_BIN overrides both.
find_pg_bin() {
  if [ -n "${PG_BIN:-}" ] && [ -x "$PG_BIN/pg_ctl" ]; then return 0; fi
  local dir
  dir="$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -type d -name bin 2>/dev/null | sort -V | tail -n 1)"
  if [ -n "$dir" ] && [ -x "$dir/pg_ctl" ]; then PG_BIN="$dir"; return 0; fi
  if command -v pg_ctl >/dev/null 2>&1; then PG_BIN="$(dirname "$(command -v pg_ctl)")"; return 0; fi
  PG_BIN=""
  return 1
}

# Postgres refuses to run as root: as root, the server and its files belong to `postgres`.
if [ "$(id -u)" -eq 0 ]; then PG_OS_USER=postgres; else PG_OS_USER="$(id -un)"; fi

# Run a command as the cluster's owner, from / so an unreadable cwd (e.g. /root/...) is harmless.
as_pg() {
  if [ "$(id -u)" -ne 0 ]; then "$@"; return; fi
  if command -v runuser >/dev/null 2>&1; then
    (cd / && runuser -u "$PG_OS_USER" -- "$@")
  else
    (cd / && su "$PG_OS_USER" -s /bin/sh -c '"$0" "$@"' -- "$@")
  fi
}

# As root, the cluster must sit where the postgres user can reach it; a checkout under /root
# is not, so fall back to a fixed, per-port folder under /var/tmp (stop.sh finds the same one).
resolve_pg_dir() {
  PG_DIR="$(abs_path "${PG_DIR:-${DATA_DIR:-.data}/postgres-server}")"
  if [ "$(id -u)" -ne 0 ] || ! id "$PG_OS_USER" >/dev/null 2>&1; then return 0; fi
  local probe="$PG_DIR"
  while [ ! -e "$probe" ]; do probe="$(dirname "$probe")"; done
  if ! as_pg test -x "$probe"; then
    local fallback="/var/tmp/marquee-postgres-server-$PGPORT"
    log "the postgres user cannot reach $PG_DIR; using $fallback (set PG_DIR to choose)"
    PG_DIR="$fallback"
  fi
}

resolve_pg_dir
PGDATA_DIR="$PG_DIR/data"
PG_LOG="$PG_DIR/postgres.log"
# Unix sockets have a ~107-byte path limit; a deep checkout gets a short one under /tmp.
PG_SOCKET_DIR="$PG_DIR/run"
if [ "${#PG_SOCKET_DIR}" -gt 90 ]; then PG_SOCKET_DIR="/tmp/marquee-postgres-$PGPORT"; fi
DATABASE_URL_OUT="postgres://$POSTGRES_USER:$POSTGRES_PASSWORD@127.0.0.1:$PGPORT/$POSTGRES_DB"

pg_running() { [ -f "$PGDATA_DIR/PG_VERSION" ] && as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" status >/dev/null 2>&1; }
