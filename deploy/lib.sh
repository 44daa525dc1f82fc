# shellcheck shell=bash
# Shared functions for Sheshi's deployment scripts (install, upgrade, rollback, backup, restore).
# Sourced, never run. Every function logs what it does to stderr and to $SHESHI_PREFIX/log/deploy.log.
#
# Deployment settings (not the application's settings, which live in $SHESHI_CONFIG):
#   SHESHI_PREFIX          install root                       default /opt/sheshi
#   SHESHI_CONFIG          the application's environment file default /etc/sheshi/sheshi.env
#   SHESHI_USER            system user that runs the services default sheshi (created as root only)
#   SHESHI_SYSTEM          auto | no: no = never create users or write to /etc (tests, containers)
#   SHESHI_PYTHON          interpreter for new virtualenvs    default python3
#   SHESHI_INSTALLER       auto | uv | pip                    default auto (uv when on PATH)
#   SHESHI_RESTART_HOOK    executable called as `HOOK stop|start|restart RELEASE_DIR` instead of systemd
#   SHESHI_SERVICES        systemd units to restart           default "sheshi-web sheshi-worker"
#   SHESHI_HEALTH_URL      readiness URL                      default http://127.0.0.1:8000/readyz
#   SHESHI_HEALTH_HOST     Host header for the check          default: none (the URL's host)
#   SHESHI_HEALTH_TIMEOUT  seconds to wait for readiness      default 60
#   SHESHI_BACKUP_DIR      where pg_dump files go             default $SHESHI_PREFIX/backups

SHESHI_PREFIX="${SHESHI_PREFIX:-/opt/sheshi}"
SHESHI_CONFIG="${SHESHI_CONFIG:-/etc/sheshi/sheshi.env}"
SHESHI_USER="${SHESHI_USER:-sheshi}"
SHESHI_PYTHON="${SHESHI_PYTHON:-python3}"
SHESHI_INSTALLER="${SHESHI_INSTALLER:-auto}"
SHESHI_RESTART_HOOK="${SHESHI_RESTART_HOOK:-}"
SHESHI_SERVICES="${SHESHI_SERVICES:-sheshi-web sheshi-worker}"
SHESHI_HEALTH_URL="${SHESHI_HEALTH_URL:-http://127.0.0.1:8000/readyz}"
SHESHI_HEALTH_HOST="${SHESHI_HEALTH_HOST:-}"
SHESHI_HEALTH_TIMEOUT="${SHESHI_HEALTH_TIMEOUT:-60}"
SHESHI_BACKUP_DIR="${SHESHI_BACKUP_DIR:-$SHESHI_PREFIX/backups}"
export SHESHI_DEPLOY_DIR
SHESHI_DEPLOY_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
RELEASES_DIR="$SHESHI_PREFIX/releases"
STATE_DIR="$SHESHI_PREFIX/state"
LOG_DIR="$SHESHI_PREFIX/log"
export SHESHI_PREFIX SHESHI_CONFIG

log() {
    local line
    line="$(date -u +%Y-%m-%dT%H:%M:%SZ) [${SCRIPT_NAME:-deploy}] $*"
    printf '%s\n' "$line" >&2
    if [[ -d "$LOG_DIR" ]]; then
        printf '%s\n' "$line" >>"$LOG_DIR/deploy.log"
    fi
}

die() {
    log "ERROR: $*"
    exit 1
}

require_cmd() {
    local cmd
    for cmd in "$@"; do
        command -v "$cmd" >/dev/null 2>&1 || die "required command not found: $cmd"
    done
}

ensure_layout() {
    mkdir -p "$RELEASES_DIR" "$STATE_DIR" "$LOG_DIR" "$SHESHI_BACKUP_DIR"
    chmod 700 "$SHESHI_BACKUP_DIR"
}

# Export every KEY=value line of the environment file (systemd EnvironmentFile syntax: no quotes
# needed, no spaces around '=', '#' starts a comment line).
load_config() {
    [[ -r "$SHESHI_CONFIG" ]] || die "configuration file $SHESHI_CONFIG is missing or unreadable"
    local key value line
    while IFS= read -r line || [[ -n "$line" ]]; do
        [[ -z "$line" || "$line" == \#* ]] && continue
        key="${line%%=*}"
        value="${line#*=}"
        [[ "$key" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || die "bad line in $SHESHI_CONFIG: $key"
        export "$key=$value"
    done <"$SHESHI_CONFIG"
    : "${DATABASE_URL:?DATABASE_URL must be set in $SHESHI_CONFIG}"
    export DJANGO_SETTINGS_MODULE="${DJANGO_SETTINGS_MODULE:-sheshi.settings.prod}"
    # pg_dump/pg_restore and migrations need the schema owner; without a split, the app URL.
    DB_OWNER_URL="${DATABASE_OWNER_URL:-$DATABASE_URL}"
}

current_release() {
    if [[ -L "$SHESHI_PREFIX/current" ]]; then
        basename "$(readlink "$SHESHI_PREFIX/current")"
    fi
}

release_dir() {
    printf '%s/%s\n' "$RELEASES_DIR" "$1"
}

# Run manage.py of a release with the configured environment.
manage() {
    local release="$1"
    shift
    local dir
    dir="$(release_dir "$release")"
    # From the release folder, so nothing from the caller's folder shadows the release's code.
    (cd "$dir" && STATIC_ROOT="$dir/staticfiles" "$dir/venv/bin/python" "$dir/manage.py" "$@")
}

# Has the release a management command of this name? (verify_* are optional in older releases.)
has_command() {
    local release="$1" command="$2"
    manage "$release" help --commands 2>/dev/null | grep -qx "$command"
}

# Atomically point `current` at a release (a new link renamed over the old one).
switch_current() {
    local release="$1"
    [[ -f "$(release_dir "$release")/.complete" ]] || die "release $release is not a complete install"
    ln -sfn "releases/$release" "$SHESHI_PREFIX/current.new"
    mv -T "$SHESHI_PREFIX/current.new" "$SHESHI_PREFIX/current"
    printf '%s\n' "$release" >"$STATE_DIR/current_release"
    log "current -> releases/$release"
}

have_systemd() {
    [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null 2>&1
}

# services stop|start|restart: the hook when configured, else systemd, else say it was skipped.
services() {
    local action="$1" dir
    dir="$(readlink -f "$SHESHI_PREFIX/current" 2>/dev/null || true)"
    if [[ -n "$SHESHI_RESTART_HOOK" ]]; then
        log "services $action via hook $SHESHI_RESTART_HOOK (release dir ${dir:-none})"
        "$SHESHI_RESTART_HOOK" "$action" "$dir"
    elif have_systemd; then
        log "services $action via systemctl: $SHESHI_SERVICES"
        # shellcheck disable=SC2086 # a list of unit names
        systemctl "$action" $SHESHI_SERVICES
    else
        log "services $action skipped: no systemd and no SHESHI_RESTART_HOOK"
    fi
}

# Wait until /readyz answers 200 with status "ready" (and, if given, the expected version).
health_check() {
    local expect_version="${1:-}" deadline body code
    local -a headers=(-H "X-Forwarded-Proto: https")
    [[ -n "$SHESHI_HEALTH_HOST" ]] && headers+=(-H "Host: $SHESHI_HEALTH_HOST")
    deadline=$((SECONDS + SHESHI_HEALTH_TIMEOUT))
    log "health check $SHESHI_HEALTH_URL (up to ${SHESHI_HEALTH_TIMEOUT}s)"
    while ((SECONDS < deadline)); do
        body="$(curl -s -m 5 -w '\n%{http_code}' "${headers[@]}" "$SHESHI_HEALTH_URL" 2>/dev/null || true)"
        code="${body##*$'\n'}"
        body="${body%$'\n'*}"
        if [[ "$code" == 200 && "$body" == *'"status": "ready"'* ]]; then
            if [[ -z "$expect_version" || "$body" == *"\"version\": \"$expect_version\""* ]]; then
                log "healthy: $body"
                return 0
            fi
        fi
        sleep 1
    done
    log "not healthy after ${SHESHI_HEALTH_TIMEOUT}s: last answer ${code:-none} ${body:-}"
    return 1
}

# pg_dump (custom format) of the whole database as the schema owner; prints the file name.
db_backup() {
    local label="$1" file
    require_cmd pg_dump
    file="$SHESHI_BACKUP_DIR/sheshi-$(date -u +%Y%m%dT%H%M%SZ)-$label.dump"
    log "backup: pg_dump -Fc to $file"
    (umask 077 && pg_dump -Fc --no-password -d "$DB_OWNER_URL" -f "$file.partial")
    mv "$file.partial" "$file"
    log "backup done: $(du -h "$file" | cut -f1) in $file"
    printf '%s\n' "$file"
}

# Replace the public schema with the dump's content in ONE transaction: either the database is
# exactly the backup afterwards, or it is left as it was. Objects a failed migration created are
# dropped with the old schema, so nothing of the new release survives.
db_restore() {
    local file="$1" url="${2:-$DB_OWNER_URL}"
    require_cmd pg_restore psql
    [[ -r "$file" ]] || die "backup file $file not readable"
    pg_restore --list "$file" >/dev/null || die "$file is not a pg_dump custom-format archive"
    log "restore: replacing schema public from $file"
    {
        printf '%s\n' "DROP SCHEMA public CASCADE;" \
            "CREATE SCHEMA public AUTHORIZATION pg_database_owner;" \
            "COMMENT ON SCHEMA public IS 'standard public schema';" \
            "GRANT USAGE ON SCHEMA public TO PUBLIC;"
        pg_restore --no-password -f - "$file"
    } | psql -X -q --no-password -d "$url" --single-transaction -v ON_ERROR_STOP=1 -f - >/dev/null
    log "restore done from $file"
}

# The release a name points to must exist; print the most recent release other than $1.
previous_release() {
    local exclude="$1" candidate
    if [[ -s "$STATE_DIR/previous_release" ]]; then
        candidate="$(<"$STATE_DIR/previous_release")"
        if [[ "$candidate" != "$exclude" && -f "$(release_dir "$candidate")/.complete" ]]; then
            printf '%s\n' "$candidate"
            return 0
        fi
    fi
    return 1
}
