# Shared by every service's common.sh (kafka, postgres, redis, stripe-mock): messages, paths,
# ports, pid files, waiting and stopping. Sourced, not executed; the caller sets SERVICE first.
# Every message goes to stderr, so a start.sh's stdout ends with its URL.

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

log() { printf '%s: %s\n' "$SERVICE" "$*" >&2; }
die() { printf '%s: error: %s\n' "$SERVICE" "$*" >&2; exit 1; }

# A relative DATA_DIR / <SERVICE>_DIR is taken from the repository root, whatever the caller's cwd.
abs_path() { case "$1" in /*) printf '%s' "$1" ;; *) printf '%s/%s' "$REPO_ROOT" "$1" ;; esac; }

# True when something accepts TCP connections on 127.0.0.1:$1 (bash's /dev/tcp, no netcat needed).
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Prints the pid in file $1 when that process is alive; false otherwise (no file, empty, dead).
pid_from_file() {
  [ -f "$1" ] || return 1
  local pid
  pid="$(cat "$1")"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && printf '%s' "$pid"
}

# wait_until [--while-pid PID] SECONDS COMMAND...: runs COMMAND every 0.25 s until it succeeds
# (0), SECONDS pass (1), or, with --while-pid, that process exits first (2: no point waiting).
wait_until() {
  local pid=""
  if [ "$1" = "--while-pid" ]; then pid="$2"; shift 2; fi
  local tries=$(($1 * 4))
  shift
  for _ in $(seq 1 "$tries"); do
    "$@" && return 0
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then return 2; fi
    sleep 0.25
  done
  "$@"
}

# stop_pid_file FILE SECONDS: SIGTERM the process in FILE, wait up to SECONDS for it to exit,
# then SIGKILL; the pid file goes either way. False (with a log line) when nothing ran.
stop_pid_file() {
  local file="$1" seconds="$2" pid
  if ! pid="$(pid_from_file "$file")"; then
    rm -f "$file"
    return 1
  fi
  log "stopping (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_until "$seconds" process_gone "$pid"; then
    log "still running after $seconds s: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    wait_until 5 process_gone "$pid" || true
  fi
  rm -f "$file"
}
process_gone() { ! kill -0 "$1" 2>/dev/null; }

# stop.sh's arguments: only --purge (also delete the data folder), which sets PURGE=true.
parse_stop_args() {
  PURGE=false
  local arg
  for arg in "$@"; do
    case "$arg" in
      --purge) PURGE=true ;;
      *) die "unknown argument: $arg (usage: stop.sh [--purge])" ;;
    esac
  done
}

# purge_if_asked DIR: with --purge, delete the service's data folder.
purge_if_asked() {
  if $PURGE && [ -d "$1" ]; then
    log "deleting $1"
    rm -rf "$1"
  fi
}

# Install Debian package $1 when it is missing (as root, or through sudo).
apt_install() {
  command -v apt-get >/dev/null 2>&1 || die "$1 is not installed and apt-get is unavailable"
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || die "$1 is not installed: as root, apt-get install $1"
    sudo=(sudo)
  fi
  log "installing Debian's $1 package"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$1" >&2
}
