"""Check an evidence archive offline: the manifest's signature, then every file against it.

Each problem names its file: a file whose SHA-256 or size differs from the manifest, a listed
file missing from the archive, a file the manifest does not list, a name present twice (a second
entry appended under an existing name would otherwise shadow the first), an entry that fails
its zip checksum. Then the audit chain is recomputed from ``audit_events.json`` alone: each link
from the genesis hash to the head the manifest signs, and each event's content hash where its
content is in the archive. No database is needed — only the signing key (or the public key).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from audit.canonical import GENESIS_HASH, event_content_hash, link_hash, parse_json
from audit.evidence.archive import FORMAT, MANIFEST
from audit.evidence.manifest import manifest_signature_valid
from audit.signing import SigningKey

READ_CHUNK = 1024 * 1024
EVENTS = "audit_events.json"


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
        # A chain the export already found broken is reported by the manifest, not re-found here.
        intact = (manifest.get("audit_chain") or {}).get("intact") is True
        if intact and EVENTS in listed and not any(p.name in (EVENTS, MANIFEST) for p in report.problems):
            problem = _chain_problem(zf, manifest)
            if problem is not None:
                report.problems.append(EvidenceProblem(EVENTS, problem))
    return report


def _event_rows(zf: zipfile.ZipFile):
    """The rows of audit_events.json, one per line (audit/evidence/writer.py), streamed."""
    with zf.open(EVENTS) as f:
        f.readline()  # {"dataset": ..., "columns": [...], "rows": [
        for raw in f:
            line = raw.decode("utf-8").strip()
            if line in ("]}", ""):
                continue
            yield json.loads(line.removesuffix(","), parse_float=Decimal)


def _content_hash(org_id: int, row: dict[str, Any]) -> str:
    return event_content_hash(
        organisation_id=org_id, occurred_at=dt.datetime.fromisoformat(row["occurred_at"]), txid=int(row["txid"]),
        actor_id=row["actor_id"], actor_label=row["actor_label"], request_id=row["request_id"],
        client_addr=row["client_addr"], action=row["action"], object_type=row["object_type"],
        object_id=row["object_id"], changes=parse_json(row["changes"]))


def _chain_problem(zf: zipfile.ZipFile, manifest: dict[str, Any]) -> str | None:
    """Recompute the chain from the archived events; the first problem, or None."""
    org_id = int(manifest["organisation"]["id"])
    chain = manifest["audit_chain"]
    expected, prev = 1, GENESIS_HASH
    for row in _event_rows(zf):
        seq = row["seq"]
        if seq != expected:
            return f"seq {expected} expected, seq {seq} found"
        if row["prev_hash"] != prev:
            return f"seq {seq} does not point at the hash of seq {seq - 1}"
        if link_hash(row["content_hash"], prev) != row["hash"]:
            return f"seq {seq}: its link hash does not recompute"
        if row["event_id"] is None:
            return f"seq {seq}: the event was missing from the log at export"
        if not row["content_withheld"] and _content_hash(org_id, row) != row["content_hash"]:
            return f"seq {seq} (event {row['event_id']}): the content does not match its content hash"
        prev, expected = row["hash"], expected + 1
    if expected - 1 != chain["head_seq"] or prev != chain["head_hash"]:
        return (f"the archived chain ends at seq {expected - 1} with {prev}, the manifest signs seq "
                f"{chain['head_seq']} with {chain['head_hash']}")
    return None
