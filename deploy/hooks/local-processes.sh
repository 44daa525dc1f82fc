#!/usr/bin/env bash
# A restart hook for hosts without systemd (and for the deploy tests): runs gunicorn, and
# optionally a django-q2 cluster, as background processes with pid files under $SHESHI_PREFIX/run.
#
# Usage (set by the deploy scripts): SHESHI_RESTART_HOOK=deploy/hooks/local-processes.sh
#   local-processes.sh stop|start|restart RELEASE_DIR
# Settings: SHESHI_BIND (default 127.0.0.1:8000), SHESHI_WEB_WORKERS (2), SHESHI_HOOK_WORKER=1 to
# also run `manage.py qcluster`. The environment comes from $SHESHI_CONFIG.
set -Eeuo pipefail
SCRIPT_NAME=hook
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

action="${1:?stop|start|restart}"
release_dir="${2:-}"
run_dir="$SHESHI_PREFIX/run"
mkdir -p "$run_dir"

stop_one() {
    local name="$1" pidfile="$run_dir/$1.pid" pid i
    [[ -s "$pidfile" ]] || return 0
    pid="$(<"$pidfile")"
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid"
        for ((i = 0; i < 300; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            log "$name (pid $pid) did not stop in 30s; killing it"
            kill -KILL "$pid"
        fi
    fi
    rm -f "$pidfile"
    log "$name stopped (pid $pid)"
}

start_all() {
    [[ -n "$release_dir" && -x "$release_dir/venv/bin/gunicorn" ]] || die "no release to start ($release_dir)"
    load_config
    export STATIC_ROOT="$release_dir/staticfiles"
    # Start from the release folder: gunicorn puts its starting folder on sys.path first.
    cd "$release_dir"
    "$release_dir/venv/bin/gunicorn" sheshi.wsgi --chdir "$release_dir" \
        --bind "${SHESHI_BIND:-127.0.0.1:8000}" --workers "${SHESHI_WEB_WORKERS:-2}" \
        --pid "$run_dir/web.pid" --daemon --error-logfile "$LOG_DIR/web.log" --capture-output
    log "web started from $release_dir on ${SHESHI_BIND:-127.0.0.1:8000}"
    if [[ "${SHESHI_HOOK_WORKER:-0}" == 1 ]]; then
        "$release_dir/venv/bin/python" manage.py qcluster </dev/null \
            >>"$LOG_DIR/worker.log" 2>&1 &
        printf '%s\n' "$!" >"$run_dir/worker.pid"
        log "worker started from $release_dir (pid $!)"
    fi
}

case "$action" in
    stop) stop_one worker; stop_one web ;;
    start) start_all ;;
    restart) stop_one worker; stop_one web; start_all ;;
    *) die "unknown action $action" ;;
esac
