#!/usr/bin/env bash
# Restore a backup, or check that a backup restores and its books verify.
#
# Usage: deploy/restore.sh --check FILE [--keep]
#          restore FILE into a scratch database next to the live one, run `manage.py verify_balances`
#          and `manage.py verify_audit` against it (when the installed release has them), then drop
#          it (--keep leaves it for inspection). The live database is not touched.
#        deploy/restore.sh --live FILE --yes
#          stop the services, replace the live database's schema with the backup in one transaction,
#          start the services and wait for /readyz. Everything written after the backup is lost.
# The scratch database is created with DATABASE_ADMIN_URL when set, else as the schema owner
# (which then needs CREATEDB).
set -Eeuo pipefail
SCRIPT_NAME=restore
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

mode=""
file=""
keep=0
yes=0
while (($#)); do
    case "$1" in
        --check) mode=check; file="$2"; shift 2 ;;
        --live) mode=live; file="$2"; shift 2 ;;
        --keep) keep=1; shift ;;
        --yes) yes=1; shift ;;
        -h | --help) sed -n '2,13p' "$0"; exit 0 ;;
        *) die "unknown argument: $1" ;;
    esac
done
[[ -n "$mode" ]] || die "say --check FILE or --live FILE --yes"
[[ -r "$file" ]] || die "backup $file not readable"

ensure_layout
load_config
release="$(current_release)"
[[ -n "$release" ]] || die "no current release in $SHESHI_PREFIX"

# Print URL $1 with its database name replaced by $2.
with_dbname() {
    "$SHESHI_PYTHON" -c 'import sys, urllib.parse as u
p = u.urlsplit(sys.argv[1])
print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' "$1" "$2"
}

if [[ "$mode" == live ]]; then
    ((yes)) || die "--live replaces the live database: add --yes"
    services stop
    db_restore "$file"
    services start
    health_check "$(sed -n 's/^version=//p' "$(release_dir "$release")/.release")"
    log "live database restored from $file"
    exit 0
fi

scratch="sheshi_restore_check_$(date -u +%Y%m%d%H%M%S)_$$"
admin_url="${DATABASE_ADMIN_URL:-$DB_OWNER_URL}"
owner_role="$("$SHESHI_PYTHON" -c 'import sys, urllib.parse as u; print(u.unquote(u.urlsplit(sys.argv[1]).username or ""))' "$DB_OWNER_URL")"
[[ "$owner_role" =~ ^[A-Za-z0-9_]+$ ]] || die "cannot read the owner role from DATABASE_OWNER_URL"
log "restore check: creating scratch database $scratch owned by $owner_role"
psql -X -q --no-password -d "$admin_url" -v ON_ERROR_STOP=1 -c "CREATE DATABASE $scratch OWNER $owner_role" >/dev/null
cleanup() {
    if ((keep)); then
        log "scratch database $scratch kept"
    else
        psql -X -q --no-password -d "$admin_url" -c "DROP DATABASE IF EXISTS $scratch" >/dev/null \
            && log "scratch database $scratch dropped"
    fi
}
trap cleanup EXIT

started=$SECONDS
db_restore "$file" "$(with_dbname "$DB_OWNER_URL" "$scratch")"
log "restored in $((SECONDS - started))s; verifying with release $release"
export DATABASE_URL DATABASE_OWNER_URL
DATABASE_URL="$(with_dbname "$DATABASE_URL" "$scratch")"
DATABASE_OWNER_URL="$(with_dbname "$DB_OWNER_URL" "$scratch")"
manage "$release" migrate --check --no-input >/dev/null \
    || log "note: the backup's schema is not at release $release's migrations (an older backup?)"
checked=0
for command in verify_balances verify_audit; do
    if has_command "$release" "$command"; then
        log "running manage.py $command on the restored copy"
        manage "$release" "$command"
        checked=$((checked + 1))
    else
        log "SKIPPED $command: release $release has no such management command yet"
    fi
done
log "restore check passed for $file ($checked verification command(s) run)"
