#!/usr/bin/env bash
# Audit the hashed lock files for known vulnerabilities with pip-audit (release check).
#
#   scripts/audit_deps.sh            # requirements.txt and requirements-dev.txt
#   scripts/audit_deps.sh FILE...    # only the given lock files
#
# NEEDS NETWORK: pip-audit downloads its advisory data (PyPI / OSV). Offline it may print
# "No known vulnerabilities found" having checked nothing, so silence without network is NOT a
# pass. This script therefore checks that the advisory service is reachable first and fails
# (exit 2) when it is not, and runs pip-audit with --strict (any package it cannot audit fails).
#
# pip-audit is deliberately not in the lock: it runs from a throwaway environment (uvx, or a
# temporary venv when uv is absent) so the tool and its dependencies never enter the app.
set -euo pipefail
cd "$(dirname "$0")/.."

PIP_AUDIT_VERSION="${PIP_AUDIT_VERSION:-2.9.0}"
files=("$@")
[ ${#files[@]} -gt 0 ] || files=(requirements.txt requirements-dev.txt)

if ! python3 - <<'PY'
import sys, urllib.request
try:
    urllib.request.urlopen("https://pypi.org/pypi/pip-audit/json", timeout=10)
    urllib.request.urlopen("https://api.osv.dev/v1/query", data=b"{}", timeout=10)
except Exception as exc:  # noqa: BLE001
    if getattr(exc, "code", None) == 400:  # OSV answers 400 to an empty query: reachable
        sys.exit(0)
    print(f"advisory data unreachable: {exc}", file=sys.stderr)
    sys.exit(1)
PY
then
    echo "audit_deps: NO NETWORK — nothing was audited. This is not a pass." >&2
    exit 2
fi

run_pip_audit() {
    if command -v uvx >/dev/null 2>&1; then
        uvx --from "pip-audit==${PIP_AUDIT_VERSION}" pip-audit "$@"
    else
        tmp="$(mktemp -d)"
        trap 'rm -rf "$tmp"' RETURN
        python3 -m venv "$tmp/venv"
        "$tmp/venv/bin/pip" install --quiet "pip-audit==${PIP_AUDIT_VERSION}"
        "$tmp/venv/bin/pip-audit" "$@"
    fi
}

status=0
for f in "${files[@]}"; do
    echo "== pip-audit --strict -r $f"
    # --require-hashes: the locks are hashed; --disable-pip: resolve from the lock as pinned.
    run_pip_audit --strict --require-hashes --disable-pip --vulnerability-service osv -r "$f" || status=$?
done
exit "$status"
