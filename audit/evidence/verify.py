"""Check an evidence archive offline: the manifest's signature, then every file against it.

Each problem names its file: a file whose SHA-256 or size differs from the manifest, a listed
file missing from the archive, a file the manifest does not list, a name present twice (a second
entry appended under an existing name would otherwise shadow the first), an entry that fails
its zip checksum. No database is needed — only the signing key (or the Ed25519 public key).
"""
from __future__ import annotations

import hashlib
import json
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from audit.digest import SigningKey
from audit.evidence.archive import FORMAT, MANIFEST
from audit.evidence.manifest import manifest_signature_valid

READ_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class EvidenceProblem:
    name: str
    message: str

    def __str__(self) -> str:
        return f"{self.name}: {self.message}"


@dataclass
class EvidenceReport:
    manifest: dict[str, Any] | None = None
    files_checked: int = 0
    problems: list[EvidenceProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def failed_files(self) -> list[str]:
        return sorted({p.name for p in self.problems})


def _digest(zf: zipfile.ZipFile, name: str) -> tuple[str, int]:
    h, size = hashlib.sha256(), 0
    with zf.open(name) as f:
        while chunk := f.read(READ_CHUNK):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


def evidence_verify(archive: str | Path | IO[bytes], *, key: SigningKey | None = None,
                    public_key: Ed25519PublicKey | None = None) -> EvidenceReport:
    report = EvidenceReport()
    try:
        zf = zipfile.ZipFile(archive)
    except (OSError, zipfile.BadZipFile) as exc:
        report.problems.append(EvidenceProblem(str(archive), f"not a readable zip archive ({exc})"))
        return report
    with zf:
        names = [i.filename for i in zf.infolist()]
        for name, n in sorted(Counter(names).items()):
            if n > 1:
                report.problems.append(EvidenceProblem(name, f"present {n} times in the archive"))
        if MANIFEST not in names:
            report.problems.append(EvidenceProblem(MANIFEST, "missing"))
            return report
        try:
            manifest = json.loads(zf.read(MANIFEST))
        except (ValueError, zipfile.BadZipFile) as exc:
            report.problems.append(EvidenceProblem(MANIFEST, f"unreadable ({exc})"))
            return report
        report.manifest = manifest
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            report.problems.append(EvidenceProblem(MANIFEST, f"not a {FORMAT} manifest"))
            return report
        if not manifest_signature_valid(manifest, key=key, public_key=public_key):
            report.problems.append(EvidenceProblem(MANIFEST, "signature does not verify (altered manifest or "
                                                             "wrong key)"))
        listed: set[str] = set()
        for entry in manifest.get("files") or []:
            name = str(entry.get("name"))
            listed.add(name)
            if name not in names:
                report.problems.append(EvidenceProblem(name, "listed in the manifest but missing from the archive"))
                continue
            try:
                sha, size = _digest(zf, name)
            except (zipfile.BadZipFile, OSError, EOFError) as exc:
                report.problems.append(EvidenceProblem(name, f"unreadable ({exc})"))
                continue
            report.files_checked += 1
            if sha != entry.get("sha256"):
                report.problems.append(EvidenceProblem(name, f"SHA-256 is {sha}, the manifest says "
                                                             f"{entry.get('sha256')}"))
            elif size != entry.get("size"):
                report.problems.append(EvidenceProblem(name, f"size is {size}, the manifest says {entry.get('size')}"))
        for name in sorted(set(names) - listed - {MANIFEST}):
            report.problems.append(EvidenceProblem(name, "in the archive but not listed in the manifest"))
    return report
