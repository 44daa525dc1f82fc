#!/usr/bin/env python3
"""Build a Sheshi release: run the checks, build wheel + sdist + static files into dist/, and
print the git tag to create.

Checks, in order (any failure stops the release):
  1. ruff check .
  2. manage.py makemigrations --check --dry-run (models and migrations agree)
  3. migration safety against the previous release tag (v*): no migration file that was released
     has been changed or deleted since; every RunSQL has reverse_sql (RunSQL.noop counts: it is a
     decision, visible in review); RunPython without reverse_code is reported as a warning
  4. API compatibility within v1: the schema of this tree (manage.py spectacular) against the
     last released one, docs/api/v1-schema.yaml; any breaking change (sheshi/api/schema_diff.py,
     the policy in README.md "API versions") stops the release. Without one, a changed schema is
     written there, to be committed with the release (the release stops until it is)
  5. the working tree is clean (skip with --allow-dirty for a trial build)

Artifacts in dist/: sheshi-<version>-py3-none-any.whl, sheshi-<version>.tar.gz,
sheshi-<version>-static.tar.gz (collected static files), and sheshi-<version>-<sha>-source.tar.gz
(git archive of the commit: what deploy/install.sh --source takes, with requirements.txt and the
deploy scripts).

Usage: .venv/bin/python scripts/release.py [--allow-dirty] [--skip-build] [--base-tag TAG]
       .venv/bin/python scripts/release.py --check-migrations-only [--base-tag TAG]
       .venv/bin/python scripts/release.py --check-api-only
"""
from __future__ import annotations

import argparse
import ast
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
API_SCHEMA = Path("docs") / "api" / "v1-schema.yaml"
MIGRATION_FILE = re.compile(r"(^|/)migrations/\d{4}_[^/]+\.py$")


@dataclass(frozen=True)
class Finding:
    path: str
    message: str
    fatal: bool = True

    def __str__(self) -> str:
        return f"{'ERROR' if self.fatal else 'warning'}: {self.path}: {self.message}"


def git(*args: str, cwd: Path = ROOT) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def previous_tag(cwd: Path = ROOT) -> str | None:
    """The most recent v* tag reachable from HEAD, or None before the first release."""
    proc = subprocess.run(["git", "describe", "--tags", "--abbrev=0", "--match", "v*", "HEAD"], cwd=cwd,
                          capture_output=True, text=True)
    return proc.stdout.strip() or None


def released_migrations_changed(tag: str, cwd: Path = ROOT) -> list[Finding]:
    """Migration files in the tag's tree whose content differs now (working tree) or that are gone."""
    findings = []
    listing = git("ls-tree", "-r", tag, cwd=cwd)
    for line in listing.splitlines():
        meta, path = line.split("\t", 1)
        if not MIGRATION_FILE.search(path):
            continue
        released_blob = meta.split()[2]
        current = cwd / path
        if not current.exists():
            findings.append(Finding(path, f"released in {tag} and deleted since"))
            continue
        now_blob = git("hash-object", str(current), cwd=cwd)
        if now_blob != released_blob:
            findings.append(Finding(path, f"released in {tag} and changed since: add a new migration instead"))
    return findings


def _call_name(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return ""


def irreversible_operations(path: Path, rel: str) -> list[Finding]:
    """RunSQL without reverse_sql (fatal) and RunPython without reverse_code (warning)."""
    try:
        tree = ast.parse(path.read_text(), filename=rel)
    except SyntaxError as exc:
        return [Finding(rel, f"does not parse: {exc}")]
    findings = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _call_name(node)
        keywords = {k.arg for k in node.keywords}
        if name == "RunSQL" and len(node.args) < 2 and "reverse_sql" not in keywords:
            findings.append(Finding(rel, f"line {node.lineno}: RunSQL without reverse_sql"))
        elif name == "RunPython" and len(node.args) < 2 and "reverse_code" not in keywords:
            findings.append(Finding(rel, f"line {node.lineno}: RunPython without reverse_code", fatal=False))
    return findings


def migration_findings(base_tag: str | None, cwd: Path = ROOT) -> list[Finding]:
    findings: list[Finding] = []
    if base_tag:
        findings += released_migrations_changed(base_tag, cwd)
    for path in sorted(cwd.glob("**/migrations/[0-9][0-9][0-9][0-9]_*.py")):
        rel = path.relative_to(cwd).as_posix()
        if rel.startswith((".venv/", "var/", "build/", "dist/")):
            continue
        findings += irreversible_operations(path, rel)
    return findings


def api_schema_current(env: dict) -> str:
    """The OpenAPI description this tree serves at /api/v1/schema/ (YAML)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "schema.yaml"
        subprocess.run([sys.executable, "manage.py", "spectacular", "--file", str(out)], cwd=ROOT, check=True, env=env)
        return out.read_text()


def api_schema_findings(released: str | None, current: str) -> list[Finding]:
    """Breaking changes of ``current`` against the released schema (none before the first release)."""
    if released is None:
        return []
    import yaml

    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from sheshi.api.schema_diff import breaking_changes

    return [Finding(API_SCHEMA.as_posix(), change) for change in
            breaking_changes(yaml.safe_load(released), yaml.safe_load(current))]


def api_compatibility(current: str, root: Path = ROOT) -> tuple[str, str]:
    """(outcome, message): "breaking" refuses the release; "updated" wrote ``current`` as this
    release's schema (to be committed: the tag must hold it); "ok" found it unchanged."""
    path = root / API_SCHEMA
    released = path.read_text() if path.exists() else None
    findings = api_schema_findings(released, current)
    if findings:
        lines = "\n".join(str(f) for f in findings)
        return "breaking", (f"{lines}\nbreaking change(s) within v1: keep the old shape (add, never change or remove), "
                       "deprecate first (README.md, API versions), or plan /api/v2")
    if released == current:
        return "ok", f"no change since the released schema ({API_SCHEMA})"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(current)
    what = "first released schema" if released is None else "no breaking change; schema updated"
    return "updated", f"{what}: {API_SCHEMA} written — commit it, then run the release again"


def step(title: str) -> None:
    print(f"\n== {title}", flush=True)


def run(cmd: list[str], env: dict | None = None) -> None:
    print("$ " + " ".join(cmd), flush=True)
    subprocess.run(cmd, cwd=ROOT, check=True, env=env)


def django_env() -> dict:
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "sheshi.settings.test")
    if "DATABASE_URL" not in env:
        out = subprocess.run([sys.executable, "scripts/devdb.py", "env"], cwd=ROOT, check=True,
                             capture_output=True, text=True).stdout
        for line in out.splitlines():
            key, _, value = line.removeprefix("export ").partition("=")
            env[key] = value
    return env


def version() -> str:
    text = (ROOT / "sheshi" / "__init__.py").read_text()
    match = re.search(r'^__version__ = "([^"]+)"$', text, re.M)
    if not match:
        sys.exit("no __version__ in sheshi/__init__.py")
    return match.group(1)


def build(ver: str, sha: str) -> list[Path]:
    dist = ROOT / "dist"
    dist.mkdir(exist_ok=True)
    if shutil.which("uv"):
        run(["uv", "build", "--out-dir", str(dist)])
    else:
        run([sys.executable, "-m", "build", "--outdir", str(dist)])
    env = django_env() | {"DJANGO_SETTINGS_MODULE": "sheshi.settings.prod", "SECRET_KEY": "collectstatic-only"}
    with tempfile.TemporaryDirectory() as tmp:
        env["STATIC_ROOT"] = tmp
        run([sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0"], env=env)
        static = dist / f"sheshi-{ver}-static.tar.gz"
        with tarfile.open(static, "w:gz") as tar:
            tar.add(tmp, arcname="staticfiles")
    source = dist / f"sheshi-{ver}-{sha[:12]}-source.tar.gz"
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "RELEASE_SHA").write_text(sha + "\n")
        run(["git", "archive", "--format=tar.gz", f"--prefix=sheshi-{ver}/", f"--add-file={Path(tmp) / 'RELEASE_SHA'}",
             f"--output={source}", "HEAD"])
    return sorted(p for p in dist.iterdir() if ver in p.name)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--allow-dirty", action="store_true")
    parser.add_argument("--skip-build", action="store_true")
    parser.add_argument("--base-tag", help="compare migrations with this tag (default: the latest v* tag)")
    parser.add_argument("--check-migrations-only", action="store_true")
    parser.add_argument("--check-api-only", action="store_true", help="only the API compatibility check")
    args = parser.parse_args(argv)

    ver = version()
    tag = f"v{ver}"
    base = args.base_tag or previous_tag()

    if args.check_api_only:
        step("API compatibility (v1)")
        outcome, message = api_compatibility(api_schema_current(django_env()))
        print(message)
        return 0 if outcome == "ok" else 1

    step(f"migration safety (released tree: {base or 'none yet'})")
    findings = migration_findings(base)
    for finding in findings:
        print(finding)
    if any(f.fatal for f in findings):
        print("migration safety: FAILED")
        return 1
    print(f"migration safety: ok ({sum(not f.fatal for f in findings)} warning(s))")
    if args.check_migrations_only:
        return 0

    step("ruff")
    run([str(Path(sys.executable).parent / "ruff"), "check", "."])
    step("makemigrations --check")
    run([sys.executable, "manage.py", "makemigrations", "--check", "--dry-run"], env=django_env())
    step("API compatibility (v1)")
    outcome, message = api_compatibility(api_schema_current(django_env()))
    print(message)
    if outcome == "breaking" or (outcome == "updated" and not args.allow_dirty):
        print("API compatibility: FAILED" if outcome == "breaking" else "commit the schema and run again")
        return 1
    step("working tree")
    dirty = git("status", "--porcelain", "--untracked-files=no")
    if dirty and not args.allow_dirty:
        print(dirty)
        print("the working tree has uncommitted changes: commit them (or --allow-dirty for a trial build)")
        return 1
    if git("tag", "--list", tag):
        print(f"tag {tag} exists already: bump sheshi.__version__ and add the CHANGELOG section first")
        return 1
    if f"## [{ver}]" not in (ROOT / "CHANGELOG.md").read_text():
        print(f"warning: CHANGELOG.md has no '## [{ver}]' section yet")
    sha = git("rev-parse", "HEAD")
    if not args.skip_build:
        step("build")
        for artifact in build(ver, sha):
            print(f"  {artifact.relative_to(ROOT)}")
    step("release")
    print(f"checks passed for {ver} at {sha[:12]}. Create the tag with:\n"
          f"  git tag -a {tag} -m 'Sheshi {ver}' {sha[:12]} && git push origin {tag}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
