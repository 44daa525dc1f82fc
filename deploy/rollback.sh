#!/usr/bin/env bash
# Roll back to an earlier installed release (by default the one before the last upgrade).
#
# Usage: deploy/rollback.sh [--to RELEASE] [--reverse-migrations | --restore-backup FILE]
#   (default)              code only: the schema stays as the newer release left it. Safe when the
#                          newer release's migrations were additive (expand/contract), which is the
#                          rule for Sheshi migrations; keeps every row written since the upgrade.
#   --reverse-migrations   first unapply, with the newer code, the migrations the older release does
#                          not know (needs reversible migrations; drops the data in new columns/tables).
#   --restore-backup FILE  replace the database with a pg_dump backup (e.g. state/last_upgrade_backup):
#                          everything written since that backup is lost.
# Every step is logged to $SHESHI_PREFIX/log/deploy.log.
set -Eeuo pipefail
SCRIPT_NAME=rollback
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

target=""
mode=code
backup=""
while (($#)); do
    case "$1" in
        --to) target="$2"; shift 2 ;;
        --reverse-migrations) mode=reverse; shift ;;
        --restore-backup) mode=restore; backup="$2"; shift 2 ;;
        -h | --help) sed -n '2,14p' "$0"; exit 0 ;;
        *) die "unknown argument: $1" ;;
    esac
done

ensure_layout
load_config
started=$SECONDS
from="$(current_release)"
[[ -n "$from" ]] || die "no current release in $SHESHI_PREFIX"
if [[ -z "$target" ]]; then
    target="$(previous_release "$from")" || die "no previous release recorded; pass --to (installed: $(ls "$RELEASES_DIR"))"
fi
[[ "$target" != "$from" ]] || die "$target is already current"
[[ -f "$(release_dir "$target")/.complete" ]] || die "release $target is not installed"
target_version="$(sed -n 's/^version=//p' "$(release_dir "$target")/.release")"
log "rolling back $from -> $target (schema: $mode)"

case "$mode" in
    reverse)
        # The older release's leaf migration per app; the newer code migrates each app back to it.
        leaves="$(manage "$target" shell -v 0 -c '
from django.db.migrations.loader import MigrationLoader
for app, name in sorted(MigrationLoader(None, ignore_no_migrations=True).graph.leaf_nodes()):
    print(app, name)')"
        apps_now="$(manage "$from" shell -v 0 -c '
from django.db.migrations.loader import MigrationLoader
print(*sorted({app for app, _ in MigrationLoader(None, ignore_no_migrations=True).graph.leaf_nodes()}))')"
        for app in $apps_now; do
            name="$(awk -v a="$app" '$1 == a { print $2 }' <<<"$leaves" | tail -n 1)"
            log "unapplying $app migrations after ${name:-zero} (with $from's code)"
            manage "$from" migrate --no-input "$app" "${name:-zero}" >&2
        done
        ;;
    restore)
        services stop
        db_restore "$backup"
        ;;
    code) ;;
esac

printf '%s\n' "$from" >"$STATE_DIR/previous_release"
switch_current "$target"
services restart
health_check "$target_version" || die "rolled back to $target but it is not healthy"
printf '%s\t%s\t%s\t%s\t%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$from" "$target" "rollback-$mode" "$backup" \
    >>"$STATE_DIR/upgrades.tsv"
log "rollback $from -> $target done in $((SECONDS - started))s"
printf '%s\n' "$target"
