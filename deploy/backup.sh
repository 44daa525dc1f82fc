#!/usr/bin/env bash
# Take a backup of the Sheshi database: pg_dump in custom format, as the schema owner.
#
# Usage: deploy/backup.sh [--label LABEL] [--keep N]
#   --label  part of the file name (default: manual)
#   --keep   afterwards delete all but the newest N backups in $SHESHI_BACKUP_DIR
# Prints the backup file name. Check a backup with: deploy/restore.sh --check FILE
set -Eeuo pipefail
SCRIPT_NAME=backup
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

label=manual
keep=0
while (($#)); do
    case "$1" in
        --label) label="$2"; shift 2 ;;
        --keep) keep="$2"; shift 2 ;;
        -h | --help) sed -n '2,8p' "$0"; exit 0 ;;
        *) die "unknown argument: $1" ;;
    esac
done
[[ "$label" =~ ^[A-Za-z0-9._-]+$ ]] || die "bad label: $label"
[[ "$keep" =~ ^[0-9]+$ ]] || die "--keep takes a number"

ensure_layout
load_config
file="$(db_backup "$label")"
pg_restore --list "$file" >/dev/null || die "the new backup $file cannot be read back"
if ((keep > 0)); then
    mapfile -t old < <(find "$SHESHI_BACKUP_DIR" -maxdepth 1 -name 'sheshi-*.dump' -printf '%T@ %p\n' \
        | sort -rn | tail -n +$((keep + 1)) | cut -d' ' -f2-)
    for f in "${old[@]}"; do
        log "removing old backup $f (keeping the newest $keep)"
        rm -f -- "$f"
    done
fi
printf '%s\n' "$file"
