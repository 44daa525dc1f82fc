#!/usr/bin/env bash
# Install a Sheshi release into $SHESHI_PREFIX/releases/<version>-<gitsha> with its own virtualenv
# built from the hashed requirements, and (unless told otherwise) migrate, point `current` at it,
# start the services and wait for /readyz.
#
# Usage: deploy/install.sh [--source DIR|TARBALL] [--release NAME] [--no-migrate] [--no-activate]
#   --source    a source tree or a tarball of one (default: the checkout this script is in)
#   --release   release name (default <version>-<gitsha>, from sheshi/__init__.py and git or RELEASE_SHA)
#   --no-migrate / --no-activate   build only (upgrade.sh uses both)
# Prints the release name on stdout. See deploy/README.md.
set -Eeuo pipefail
SCRIPT_NAME=install
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

source_arg="$(cd "$SHESHI_DEPLOY_DIR/.." && pwd)"
release=""
do_migrate=1
do_activate=1
while (($#)); do
    case "$1" in
        --source) source_arg="$2"; shift 2 ;;
        --release) release="$2"; shift 2 ;;
        --no-migrate) do_migrate=0; shift ;;
        --no-activate) do_activate=0; shift ;;
        -h | --help) sed -n '2,12p' "$0"; exit 0 ;;
        *) die "unknown argument: $1" ;;
    esac
done

require_cmd tar "$SHESHI_PYTHON"
ensure_layout
work="$(mktemp -d "$SHESHI_PREFIX/.install.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# 1. Source tree: a directory is copied without build/VCS clutter; a tarball is unpacked.
src="$work/src"
mkdir -p "$src"
if [[ -d "$source_arg" ]]; then
    tar -C "$source_arg" -cf - --exclude=.git --exclude=.venv --exclude=var --exclude=__pycache__ \
        --exclude=dist --exclude=build --exclude=staticfiles --exclude='*.egg-info' --exclude=.ruff_cache \
        --exclude=.pytest_cache --exclude=.hypothesis . | tar -C "$src" -xf -
elif [[ -f "$source_arg" ]]; then
    tar -C "$src" -xf "$source_arg"
    # A tarball with one top-level folder (git archive --prefix, sdist): descend into it.
    if [[ ! -f "$src/manage.py" ]] && [[ "$(find "$src" -mindepth 1 -maxdepth 1 | wc -l)" == 1 ]]; then
        src="$(find "$src" -mindepth 1 -maxdepth 1 -type d)"
    fi
else
    die "source $source_arg not found"
fi
[[ -f "$src/manage.py" && -f "$src/requirements.txt" ]] || die "$source_arg is not a Sheshi source tree"

version="$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' "$src/sheshi/__init__.py")"
[[ -n "$version" ]] || die "no __version__ in $source_arg/sheshi/__init__.py"
if [[ -z "$release" ]]; then
    if [[ -s "$src/RELEASE_SHA" ]]; then
        sha="$(head -c 12 "$src/RELEASE_SHA")"
    elif [[ -d "$source_arg" ]] && git -C "$source_arg" rev-parse --git-dir >/dev/null 2>&1; then
        sha="$(git -C "$source_arg" rev-parse --short=12 HEAD)"
        if [[ -n "$(git -C "$source_arg" status --porcelain --untracked-files=no)" ]]; then
            sha="$sha-dirty"
        fi
    else
        die "cannot tell the git sha of $source_arg: pass --release or add a RELEASE_SHA file"
    fi
    release="$version-$sha"
fi
[[ "$release" =~ ^[A-Za-z0-9._+-]+$ ]] || die "bad release name: $release"
dest="$(release_dir "$release")"

if [[ -f "$dest/.complete" ]]; then
    log "release $release is already installed in $dest; reusing it"
else
    if [[ -e "$dest" ]]; then
        log "removing incomplete earlier attempt at $dest"
        rm -rf "$dest"
    fi
    staging="$work/release"
    mv "$src" "$staging"

    # 2. Virtualenv from the hashed lock file (every wheel checked against its hash).
    installer="$SHESHI_INSTALLER"
    if [[ "$installer" == auto ]]; then
        installer=pip
        command -v uv >/dev/null 2>&1 && installer=uv
    fi
    log "building virtualenv for $release with $installer (--require-hashes)"
    # The venv is created at its final path: its scripts carry absolute shebangs.
    mkdir -p "$dest"
    if [[ "$installer" == uv ]]; then
        uv venv -q --python "$SHESHI_PYTHON" "$dest/venv"
        VIRTUAL_ENV="$dest/venv" uv pip install -q --require-hashes -r "$staging/requirements.txt"
    else
        "$SHESHI_PYTHON" -m venv "$dest/venv"
        "$dest/venv/bin/pip" install -q --disable-pip-version-check --require-hashes --no-deps \
            -r "$staging/requirements.txt"
    fi
    # The release's own code is importable from anywhere (qcluster, shell) without installing it.
    site="$("$dest/venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
    printf '%s\n' "$dest" >"$site/sheshi-release.pth"

    # 3. Code beside the venv, then static files collected into the release (per-release assets).
    tar -C "$staging" -cf - . | tar -C "$dest" -xf -
    log "collecting static files into $dest/staticfiles"
    (
        if [[ -r "$SHESHI_CONFIG" ]]; then load_config; fi
        # collectstatic touches no database; placeholders let it run before the config exists.
        export DJANGO_SETTINGS_MODULE="${DJANGO_SETTINGS_MODULE:-sheshi.settings.prod}"
        export SECRET_KEY="${SECRET_KEY:-collectstatic-only-not-secret}"
        export DATABASE_URL="${DATABASE_URL:-postgres://collectstatic@127.0.0.1:1/none}"
        STATIC_ROOT="$dest/staticfiles" "$dest/venv/bin/python" "$dest/manage.py" collectstatic --no-input -v 0
    )
    printf 'release=%s\nversion=%s\ninstalled_at=%s\n' "$release" "$version" \
        "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$dest/.release"
    touch "$dest/.complete"
    log "installed release $release in $dest"
fi

# 4. System user, config file, units: as root, unless SHESHI_SYSTEM=no (tests, containers); then the
#    units are only rendered under $SHESHI_PREFIX/share for reference.
system_setup=0
[[ "$(id -u)" == 0 && "${SHESHI_SYSTEM:-auto}" != no ]] && system_setup=1
if ((system_setup)); then
    if ! id "$SHESHI_USER" >/dev/null 2>&1; then
        log "creating system user $SHESHI_USER"
        useradd --system --home-dir "$SHESHI_PREFIX" --no-create-home --shell /usr/sbin/nologin "$SHESHI_USER"
    fi
    mkdir -p "$SHESHI_PREFIX/media"
    chown "$SHESHI_USER:" "$SHESHI_PREFIX/media"
fi
if [[ ! -e "$SHESHI_CONFIG" ]]; then
    log "writing a configuration template to $SHESHI_CONFIG: edit it, then run install.sh again"
    mkdir -p "$(dirname "$SHESHI_CONFIG")"
    secret="$("$SHESHI_PYTHON" -c 'import secrets; print(secrets.token_urlsafe(50))')"
    (umask 027 && sed "s|^SECRET_KEY=.*|SECRET_KEY=$secret|" "$SHESHI_DEPLOY_DIR/sheshi.env.example" >"$SHESHI_CONFIG")
    if ((system_setup)); then chown "root:$SHESHI_USER" "$SHESHI_CONFIG"; fi
    printf '%s\n' "$release"
    exit 0
fi

units_dir="$SHESHI_PREFIX/share/systemd"
if ((system_setup)) && [[ -d /etc/systemd/system ]]; then units_dir=/etc/systemd/system; fi
mkdir -p "$units_dir" "$SHESHI_PREFIX/share/nginx"
for unit in sheshi-web.service sheshi-worker.service; do
    sed -e "s|@PREFIX@|$SHESHI_PREFIX|g" -e "s|@USER@|$SHESHI_USER|g" -e "s|@CONFIG@|$SHESHI_CONFIG|g" \
        "$SHESHI_DEPLOY_DIR/systemd/$unit" >"$units_dir/$unit"
done
sed -e "s|@PREFIX@|$SHESHI_PREFIX|g" "$SHESHI_DEPLOY_DIR/nginx/sheshi.conf" >"$SHESHI_PREFIX/share/nginx/sheshi.conf"
log "systemd units written to $units_dir; example nginx site in $SHESHI_PREFIX/share/nginx/sheshi.conf"
if [[ "$units_dir" == /etc/systemd/system ]] && have_systemd; then
    systemctl daemon-reload
    # shellcheck disable=SC2086 # a list of unit names
    systemctl enable $SHESHI_SERVICES
fi

# 5. First install: migrate, activate, start, check.
if ((do_migrate)); then
    load_config
    log "migrating the database as the schema owner"
    manage "$release" migrate --no-input >&2
fi
if ((do_activate)); then
    load_config
    switch_current "$release"
    services restart
    health_check "$version" || die "release $release installed but not healthy"
fi
printf '%s\n' "$release"
