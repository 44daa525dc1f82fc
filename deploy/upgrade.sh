#!/usr/bin/env bash
# Upgrade to a new release, rolling back automatically on any failure.
#
# Usage: deploy/upgrade.sh [--source DIR|TARBALL] [--release NAME]
#
# Steps, each logged to $SHESHI_PREFIX/log/deploy.log:
#   1. record the current release and take a pg_dump (custom format) of the database;
#   2. install the new release beside the old one (its own venv; the old one keeps running);
#   3. `manage.py migrate` with the new code, as the schema owner (DATABASE_OWNER_URL);
#   4. switch the `current` link; 5. restart the services; 6. wait for /readyz.
# On a failure at any step: stop the services, restore the database from the backup if
# migrations had started, point `current` back at the previous release, start it and check it.
# Exit status: 0 upgraded, 1 failed and rolled back, 2 failed and the rollback failed too.
set -Eeuo pipefail
SCRIPT_NAME=upgrade
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

install_args=()
while (($#)); do
    case "$1" in
        --source | --release) install_args+=("$1" "$2"); shift 2 ;;
        -h | --help) sed -n '2,14p' "$0"; exit 0 ;;
        *) die "unknown argument: $1" ;;
    esac
done

require_cmd pg_dump pg_restore psql curl
ensure_layout
load_config
started=$SECONDS
from="$(current_release)"
[[ -n "$from" ]] || die "no current release in $SHESHI_PREFIX: run install.sh first"
from_version="$(sed -n 's/^version=//p' "$(release_dir "$from")/.release")"
to=""
backup=""
migrated=0
switched=0

record() {
    printf '%s\t%s\t%s\t%s\t%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$from" "${to:-?}" "$1" "${backup:-}" \
        >>"$STATE_DIR/upgrades.tsv"
}

failed_line="?"
completed=0

# Runs on every exit: a failing command (set -e) or die() ends here too, so no path skips the rollback.
rollback_after_failure() {
    local status=$?
    ((completed)) && return 0
    trap - ERR EXIT
    set +e
    log "FAILED near line $failed_line (exit $status) upgrading $from -> ${to:-?}; rolling back"
    local ok=1
    if ((migrated || switched)); then
        services stop || log "stopping the services failed; continuing"
    fi
    if ((migrated)); then
        db_restore "$backup" || { ok=0; log "DATABASE RESTORE FAILED: restore $backup by hand (restore.sh)"; }
    fi
    if ((switched)); then
        switch_current "$from" || ok=0
    fi
    if ((migrated || switched)); then
        services start || ok=0
    fi
    if ((ok)) && health_check "$from_version"; then
        log "rolled back: $from is current and healthy; the failed release ${to:-?} stays on disk for inspection"
        record "failed-rolled-back"
        exit 1
    fi
    log "ROLLBACK INCOMPLETE: manual intervention needed (backup: ${backup:-none}, previous release: $from)"
    record "failed-rollback-failed"
    exit 2
}
trap 'failed_line=$LINENO' ERR
trap rollback_after_failure EXIT

log "upgrade from $from: recording it as the previous release"
printf '%s\n' "$from" >"$STATE_DIR/previous_release"
backup="$(db_backup "before-upgrade-from-$from")"
printf '%s\n' "$backup" >"$STATE_DIR/last_upgrade_backup"

log "installing the new release beside $from"
to="$("$SHESHI_DEPLOY_DIR/install.sh" "${install_args[@]}" --no-migrate --no-activate | tail -n 1)"
[[ "$to" != "$from" ]] || die "release $to is already current"
to_version="$(sed -n 's/^version=//p' "$(release_dir "$to")/.release")"

log "migrating the database with $to (as the schema owner)"
migrated=1
manage "$to" migrate --no-input >&2

switch_current "$to"
switched=1
services restart
health_check "$to_version"

completed=1
record "ok"
log "upgrade $from -> $to done in $((SECONDS - started))s (backup $backup)"
printf '%s\n' "$to"
