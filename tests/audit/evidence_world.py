"""A small, fixed world for the evidence tests: two entities, a workflow entry, a formula-looking
description, a reversal, a locked January, and users holding each role."""
from __future__ import annotations

import csv
import io
import json
import zipfile
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from ledger.inputs import EntryInput, LineInput
from ledger.models import JournalEntry
from ledger.services.entries import (
    journal_entry_approve,
    journal_entry_create,
    journal_entry_create_and_post,
    journal_entry_post,
    journal_entry_reverse,
    journal_entry_submit,
)
from periods.models import PeriodLockSnapshot
from periods.services.transitions import entity_period_lock
from tests.factories import user_with_role
from tests.ledger.helpers import World, build_world

FORMULA = '=HYPERLINK("http://evil.example","click")'
DATASETS = ("entities", "trial_balances", "trial_balance_totals", "journal_entries", "journal_lines",
            "entity_periods", "period_lock_snapshots", "period_lock_snapshot_rows", "audit_events", "members",
            "entity_permissions", "entity_roles")


@dataclass
class EvidenceWorld:
    world: World
    users: dict[str, object]
    sale: JournalEntry
    formula: JournalEntry
    reversed: JournalEntry
    reversal: JournalEntry
    us_entry: JournalEntry
    snapshot: PeriodLockSnapshot


def _entry(world: World, day: date, description: str, amount: str, debit: str = "1200",
           credit: str = "4100") -> EntryInput:
    return EntryInput(entry_date=day, description=description, lines=[
        LineInput(account_id=world.acc(debit), amount=Decimal(amount), memo="debit"),
        LineInput(account_id=world.acc(credit), amount=-Decimal(amount), memo="credit")])


def build_evidence_world(code: str = "EVID") -> EvidenceWorld:
    w = build_world(code)
    w.entity.approval_required_sources = ["manual"]
    w.entity.save()
    users = {role: user_with_role(w.entity, role, username=f"{code.lower()}-{role}")
             for role in ("preparer", "approver", "controller", "auditor", "viewer")}
    prep, appr, ctl = users["preparer"], users["approver"], users["controller"]

    sale = journal_entry_create(actor=prep, entity=w.entity, entry=_entry(w, date(2026, 1, 15), "January sale",
                                                                          "1234.5600")).entry
    journal_entry_submit(actor=prep, entry_id=sale.pk)
    journal_entry_approve(actor=appr, entry_id=sale.pk)
    journal_entry_post(actor=appr, entry_id=sale.pk)

    formula = journal_entry_create(actor=prep, entity=w.entity, entry=_entry(w, date(2026, 1, 20), FORMULA,
                                                                             "0.0100")).entry
    journal_entry_submit(actor=prep, entry_id=formula.pk)
    journal_entry_approve(actor=appr, entry_id=formula.pk)
    journal_entry_post(actor=appr, entry_id=formula.pk)

    snapshot = entity_period_lock(actor=ctl, entity_period_id=w.entity_period("2026-01").pk, reason="January done")

    wrong = journal_entry_create(actor=prep, entity=w.entity, entry=_entry(w, date(2026, 2, 3), "Wrong cost",
                                                                           "99.9900", "5100", "2100")).entry
    journal_entry_submit(actor=prep, entry_id=wrong.pk)
    journal_entry_approve(actor=appr, entry_id=wrong.pk)
    journal_entry_post(actor=appr, entry_id=wrong.pk)
    reversal = journal_entry_reverse(actor=ctl, entry_id=wrong.pk, entry_date=date(2026, 2, 4))
    journal_entry_approve(actor=appr, entry_id=reversal.pk)  # a reversal goes through approval (issue #15.4)
    journal_entry_post(actor=appr, entry_id=reversal.pk)

    us_entry = journal_entry_create_and_post(actor=None, entity=w.other,
                                             entry=_entry(w, date(2026, 1, 10), "US sale", "500.0000")).entry
    for e in (sale, formula, wrong, reversal, us_entry):
        e.refresh_from_db()
    return EvidenceWorld(world=w, users=users, sale=sale, formula=formula, reversed=wrong, reversal=reversal,
                         us_entry=us_entry, snapshot=snapshot)


def read_csv(zf: zipfile.ZipFile, name: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(zf.read(f"{name}.csv").decode("utf-8"), newline="")))


def read_json(zf: zipfile.ZipFile, name: str) -> list[dict]:
    return json.loads(zf.read(f"{name}.json"))["rows"]


def rewrite_zip(src, dst, *, replace: dict[str, bytes] | None = None, add: dict[str, bytes] | None = None) -> None:
    """Copy an archive, replacing or adding entries (what a tamperer with a zip tool does)."""
    replace, add = replace or {}, add or {}
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, replace.get(info.filename, zin.read(info.filename)))
        for name, data in add.items():
            zout.writestr(name, data)
