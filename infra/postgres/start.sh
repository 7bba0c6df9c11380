#!/usr/bin/env bash
# Start a local PostgreSQL server from Debian's `postgresql` package (installing it if missing),
# listening on 127.0.0.1:${PGPORT:-54329} only, with a `marquee` role and database.
# Idempotent: when it is already running this changes nothing. Progress goes to stderr; the last
# (and only) line on stdout is the DATABASE_URL, so `URL=$(infra/postgres/start.sh)` works.
set -euo pipefail
# shellcheck source=infra/postgres/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# No pg_ctl anywhere (PG_BIN names another install): Debian's package.
find_pg_bin || { apt_install postgresql; find_pg_bin || die "postgresql installed but pg_ctl not found"; }

if [ "$(id -u)" -eq 0 ] && ! id "$PG_OS_USER" >/dev/null 2>&1; then
  useradd --system --home-dir /var/lib/postgresql --shell /bin/sh "$PG_OS_USER"
fi

umask 022
mkdir -p "$PG_DIR" "$PG_SOCKET_DIR"
if [ "$(id -u)" -eq 0 ]; then chown "$PG_OS_USER" "$PG_DIR" "$PG_SOCKET_DIR"; fi
chmod 700 "$PG_SOCKET_DIR"

if [ ! -f "$PGDATA_DIR/PG_VERSION" ]; then
  log "initialising a cluster in $PGDATA_DIR ($("$PG_BIN/postgres" --version))"
  # Local socket: peer (only the owner's OS account); TCP: password (scram) for every role.
  as_pg "$PG_BIN/initdb" -D "$PGDATA_DIR" --encoding=UTF8 --locale=C.UTF-8 \
    --auth-local=peer --auth-host=scram-sha-256 >"$PG_DIR/initdb.log" 2>&1 \
    || { cat "$PG_DIR/initdb.log" >&2; die "initdb failed"; }
fi

if pg_running; then
  log "already running on 127.0.0.1:$PGPORT ($PGDATA_DIR)"
else
  # Someone else on our port would make every later step talk to the wrong server.
  if "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PGPORT" -t 1; then
    die "port $PGPORT already answers but not from $PGDATA_DIR: stop that server or set PGPORT"
  fi
  log "starting on 127.0.0.1:$PGPORT (log: $PG_LOG)"
  # Listen address, port and socket are given at start so PGPORT can change between runs.
  as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -l "$PG_LOG" -w -t 60 start \
    -o "-c listen_addresses=127.0.0.1 -p $PGPORT -k '$PG_SOCKET_DIR'" >&2 \
    || { tail -n 30 "$PG_LOG" >&2 || true; die "server did not start"; }
fi

wait_until 30 "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PGPORT" -t 1 \
  || die "server is not answering on 127.0.0.1:$PGPORT"

# Create (or re-password) the application role and its database. The role owns the database,
# so migrations may create tables in its public schema; CREATEDB lets tests make scratch ones.
as_pg "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_SOCKET_DIR" -p "$PGPORT" -d postgres \
  -v role="$POSTGRES_USER" -v pw="$POSTGRES_PASSWORD" -v db="$POSTGRES_DB" >&2 <<'SQL'
SELECT format('CREATE ROLE %I LOGIN CREATEDB', :'role')
  WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role') \gexec
SELECT format('ALTER ROLE %I WITH LOGIN PASSWORD %L', :'role', :'pw') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'role')
  WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db') \gexec
SQL

log "ready"
printf '%s\n' "$DATABASE_URL_OUT"
