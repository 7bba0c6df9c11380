#!/usr/bin/env bash
# Start a real S3-compatible server for scaled mode's media storage: SeaweedFS (master, volume,
# filer and S3 gateway in one `weed server` process) on 127.0.0.1:${S3_PORT:-8333}, data in
# $S3_DIR (default $DATA_DIR/s3), one identity ($S3_ACCESS_KEY / $S3_SECRET_KEY). The binary is
# built once from the Go module proxy's source (its go.mod has replace directives, so `go install`
# refuses it: the module is downloaded and built in place). Idempotent. Progress goes to stderr;
# the last line on stdout is the endpoint: `S3_URL=$(infra/s3/start.sh | tail -n 1)`.
set -euo pipefail
# shellcheck source=infra/s3/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

if [ ! -x "$S3_BIN" ]; then
  command -v go >/dev/null 2>&1 || die "go not found: SeaweedFS is built from the Go module proxy"
  log "building github.com/seaweedfs/seaweedfs@$SEAWEEDFS_VERSION into $S3_BIN_DIR (a few minutes, once)"
  src="$(GOFLAGS=-mod=mod go mod download -json "github.com/seaweedfs/seaweedfs@$SEAWEEDFS_VERSION" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [ -d "$src" ] || die "could not download github.com/seaweedfs/seaweedfs@$SEAWEEDFS_VERSION"
  work="$(mktemp -d)"
  cp -r "$src/." "$work/"
  chmod -R u+w "$work"
  mkdir -p "$S3_BIN_DIR"
  (cd "$work" && GOFLAGS=-mod=mod go build -o "$S3_BIN.tmp" ./weed) >&2
  mv "$S3_BIN.tmp" "$S3_BIN"
  rm -rf "$work"
fi

mkdir -p "$S3_DIR/data"
if s3_pid >/dev/null && s3_ping; then
  log "already running at $S3_URL"
  printf '%s\n' "$S3_URL"
  exit 0
fi
for p in "$S3_PORT" "$S3_MASTER_PORT" "$S3_VOLUME_PORT" "$S3_FILER_PORT"; do
  if port_open "$p"; then die "port $p is already taken: stop that or set S3_PORT"; fi
done

cat >"$S3_DIR/s3.json" <<JSON
{"identities":[{"name":"marquee","credentials":[{"accessKey":"$S3_ACCESS_KEY","secretKey":"$S3_SECRET_KEY"}],
  "actions":["Admin","Read","List","Tagging","Write"]}]}
JSON
chmod 600 "$S3_DIR/s3.json"

log "starting at $S3_URL (log: $S3_LOG)"
# Loopback only; gRPC ports are the HTTP ports + 10000 (SeaweedFS's rule), also loopback.
nohup "$S3_BIN" server -ip=127.0.0.1 -ip.bind=127.0.0.1 -dir="$S3_DIR/data" \
  -master.port="$S3_MASTER_PORT" -volume.port="$S3_VOLUME_PORT" -filer -filer.port="$S3_FILER_PORT" \
  -s3 -s3.port="$S3_PORT" -s3.config="$S3_DIR/s3.json" -volume.max=0 -master.volumeSizeLimitMB=256 \
  >"$S3_LOG" 2>&1 &
echo $! >"$S3_PID_FILE"

if wait_until --while-pid "$(cat "$S3_PID_FILE")" 60 s3_ping; then
  log "ready"
  printf '%s\n' "$S3_URL"
  exit 0
fi
tail -n 30 "$S3_LOG" >&2 || true
die "SeaweedFS's S3 gateway did not answer at $S3_URL"
