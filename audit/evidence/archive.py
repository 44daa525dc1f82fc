"""Build the auditor evidence archive and record its export in the audit log.

Everything in one archive is read in a single REPEATABLE READ, READ ONLY transaction, so the
trial balances, the journals, the lock snapshots, the audit events and the chain head it
reports are one consistent picture of the books (and the export itself cannot change them).
That transaction is on the streaming replica when one has replayed everything committed before
the export starts (sheshi.db.replica.report_snapshot, decided once), else on the primary.
The manifest lists every file with its SHA-256 and size and is signed with the audit digest
key; recording ``evidence.exported`` (with the manifest's hash) happens afterwards, in its own
transaction, so that event is the first one after the head the archive reports.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, BinaryIO

from django.db import connections, transaction
from django.utils import timezone

from audit.canonical import GENESIS_HASH
from audit.evidence import datasets as ds
from audit.evidence.manifest import manifest_sign
from audit.evidence.writer import EvidenceZip
from audit.selectors.verify import chain_verify
from audit.services.events import audit_event_record
from audit.signing import SigningKey, signing_key
from periods.models import Period
from sheshi import __version__
from sheshi.db.replica import read_alias, report_snapshot
from sheshi.errors import FieldError, ValidationFailed
from sheshi.tenancy.models import Entity, Organisation

FORMAT = "sheshi-audit-evidence/1"
MANIFEST = "manifest.json"
EvidenceScope = ds.EvidenceScope


@dataclass(frozen=True)
class EvidenceExport:
    manifest: dict[str, Any]
    manifest_sha256: str
    event_id: int | None = None
    stored_as: str = ""  # the archive's key in the evidence store


def evidence_scope(*, organisation: Organisation, period: str, to: str | None = None,
                   entities: list[Entity] | None = None) -> EvidenceScope:
    """The periods from ``period`` through ``to`` (codes; an adjustment period inside the range
    is included) and the entities (default: every entity of the organisation)."""
    def find(code: str, field: str) -> Period:
        found = Period.objects.filter(organisation=organisation, code=code).first()
        if found is None:
            raise ValidationFailed("Unknown period.", errors=[FieldError(field, "Unknown period code.", value=code)])
        return found

    first = find(period, "period")
    last = find(to, "to") if to else first
    if last.end_date < first.start_date:
        raise ValidationFailed("The range ends before it starts.",
                               errors=[FieldError("to", "Must not be before 'period'.", value=to)])
    periods = list(Period.objects.select_related("fiscal_year")
                   .filter(organisation=organisation, start_date__gte=first.start_date, end_date__lte=last.end_date)
                   .order_by("start_date", "number"))
    every = list(Entity.objects.filter(organisation=organisation).order_by("code"))
    chosen = every if entities is None else sorted(entities, key=lambda e: e.code)
    if any(e.organisation_id != organisation.pk for e in chosen):
        raise ValueError("an entity of another organisation in an evidence scope")
    return EvidenceScope(organisation=organisation, entities=chosen, periods=periods,
                         full={e.pk for e in chosen} == {e.pk for e in every})


def _head(organisation_id: int) -> tuple[int, str]:
    with connections[read_alias()].cursor() as cur:
        cur.execute("SELECT seq, hash FROM audit_chain_head WHERE organisation_id = %s", [organisation_id])
        row = cur.fetchone()
    return (row[0], row[1]) if row else (0, GENESIS_HASH)


def _now_in_db() -> str:
    with connections[read_alias()].cursor() as cur:
        cur.execute("SELECT now()")
        return cur.fetchone()[0].isoformat()


def evidence_archive_write(*, scope: EvidenceScope, out: BinaryIO, generated_by: str,
                           key: SigningKey | None = None) -> tuple[dict[str, Any], str]:
    """Write the archive to ``out`` (a binary file opened for writing); returns the signed
    manifest and the SHA-256 of manifest.json as written."""
    key = key or signing_key()  # fail before the work when no key is configured
    org = scope.organisation
    archive = EvidenceZip(out)
    try:
        with report_snapshot():
            as_of = _now_in_db()
            head_seq, head_hash = _head(org.pk)
            chain = chain_verify(org.pk)
            archive.dataset("entities", ds.ENTITY_COLUMNS, ds.entity_rows(scope))
            totals = ds.TrialBalanceTotals()
            archive.dataset("trial_balances", ds.TRIAL_BALANCE_COLUMNS, ds.trial_balance_rows(scope, totals))
            archive.dataset("trial_balance_totals", ds.TRIAL_BALANCE_TOTAL_COLUMNS, totals.rows)
            archive.dataset("journal_entries", ds.JOURNAL_COLUMNS, ds.journal_rows(scope))
            archive.dataset("journal_lines", ds.LINE_COLUMNS, ds.journal_line_rows(scope))
            archive.dataset("entity_periods", ds.ENTITY_PERIOD_COLUMNS, ds.entity_period_rows(scope))
            checks = ds.SnapshotChecks()
            archive.dataset("period_lock_snapshots", ds.SNAPSHOT_COLUMNS, ds.lock_snapshot_rows(scope, checks))
            archive.dataset("period_lock_snapshot_rows", ds.SNAPSHOT_ROW_COLUMNS, ds.lock_snapshot_detail_rows(scope))
            archive.dataset("audit_events", ds.AUDIT_EVENT_COLUMNS, ds.audit_event_rows(scope, head_seq))
            archive.dataset("members", ds.MEMBER_COLUMNS, ds.member_rows(scope))
            archive.dataset("entity_permissions", ds.PERMISSION_COLUMNS, ds.permission_rows(scope))
            archive.dataset("entity_roles", ds.ROLE_COLUMNS, ds.role_rows(scope))
        failure = chain.failure
        manifest = manifest_sign({
            "format": FORMAT,
            "organisation": {"id": org.pk, "code": org.code, "name": org.name},
            "period_from": scope.periods[0].code, "period_to": scope.periods[-1].code,
            "periods": [p.code for p in scope.periods],
            "entities": [e.code for e in scope.entities],
            "scope": "full" if scope.full else "partial",
            "generated_at": timezone.now().isoformat(), "data_as_of": as_of,
            "generated_by": generated_by, "sheshi_version": __version__,
            "audit_chain": {
                "head_seq": head_seq, "head_hash": head_hash, "count": head_seq,
                "intact": chain.intact, "verified_count": chain.count,
                "failure": None if failure is None else {"kind": failure.kind, "seq": failure.seq,
                                                         "event_id": failure.event_id, "message": failure.message},
                "events_exported": "seq 1 to head_seq",
            },
            "checks": {
                "lock_snapshots": checks.as_dict(),
                "trial_balances": {"count": len(totals.rows),
                                   "reconciling": sum(1 for t in totals.rows if t[4]),
                                   "not_reconciling": [f"{t[0]} {t[1]}" for t in totals.rows if not t[4]]},
            },
            "files": [f.as_dict() for f in archive.files],
        }, key)
        data = (json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")
        archive.raw(MANIFEST, data)
    finally:
        archive.close()
    return manifest, hashlib.sha256(data).hexdigest()


def audit_evidence_export(*, scope: EvidenceScope, out: BinaryIO, generated_by: str,
                          key: SigningKey | None = None) -> EvidenceExport:
    """Write the archive, then record ``evidence.exported`` with the manifest's hash (the
    session's actor is the exporter: a user through the API, a system actor in commands)."""
    manifest, digest = evidence_archive_write(scope=scope, out=out, generated_by=generated_by, key=key)
    stored_as = evidence_archive_keep(out, name=(f"evidence-archives/{scope.organisation.code}/"
                                                 f"{manifest['period_from']}_{manifest['period_to']}.zip"))
    with transaction.atomic():
        event_id = audit_event_record(
            organisation_id=scope.organisation.pk, action="evidence.exported", object_type="audit.evidence",
            object_id=digest, changes={
                "manifest_sha256": digest, "period_from": manifest["period_from"], "period_to": manifest["period_to"],
                "entities": manifest["entities"], "scope": manifest["scope"], "files": len(manifest["files"]),
                "head_seq": manifest["audit_chain"]["head_seq"], "head_hash": manifest["audit_chain"]["head_hash"],
                "key_id": manifest["key_id"], "stored_as": stored_as})
    return EvidenceExport(manifest=manifest, manifest_sha256=digest, event_id=event_id, stored_as=stored_as)


def evidence_archive_keep(out: BinaryIO, *, name: str) -> str:
    """Keep a copy of the written archive in the ``evidence`` store (S3 with Object Lock in
    production, deploy/aws): the copy the auditor was given stays retrievable and unaltered after
    the task that built it is gone. Content-addressed, so the same archive is kept once."""
    from django.core.files import File
    from django.core.files.storage import storages

    out.flush()
    out.seek(0)
    stored_as = storages["evidence"].save(name, File(out, name=name))
    out.seek(0)
    return stored_as
