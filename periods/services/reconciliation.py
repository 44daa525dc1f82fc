"""Account reconciliation services: the GL closing balance of an account at the end of an
entity-period against the statement or sub-ledger balance entered, the difference explained by
reconciling items, supporting documents stored content-addressed, and two signatures — the
preparer's and a different reviewer's.

Every write locks the entity-period FOR SHARE first (as a posting does), so a period lock waits
for a sign-off in flight and then sees it. The tables written here carry the audit trigger, so
each change is in the audit trail in the same transaction; attaching evidence also records an
explicit event naming the document's SHA-256."""
from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from audit.services.events import audit_event_record
from periods import locks
from periods.books import books
from periods.errors import (
    PeriodStateError,
    ReconciliationLapsedError,
    ReconciliationUnexplainedError,
    SignOffError,
)
from periods.models import AccountReconciliation, ReconciliationEvidence, ReconciliationStatus, ReconcilingItem
from periods.selectors.close import unexplained_difference
from periods.services.checklist import entity_period_for_close, entity_period_share_lock_unlocked, named_actor_require
from sheshi.access.checks import has_entity_perm, require_entity_perm
from sheshi.access.roles import APPROVE, CLOSE, PREPARE
from sheshi.errors import FieldError, NotFound, PermissionDenied, ValidationFailed
from sheshi.money import quantize_amount
from sheshi.storage import content_addressed_name, content_addressed_store

EVIDENCE_MAX_BYTES = 25 * 1024 * 1024
EVIDENCE_PREFIX = "reconciliation-evidence/sha256"


@transaction.atomic
def reconciliation_require(*, actor, entity_period_id: int, account_ids: list[int]) -> list[AccountReconciliation]:
    """Declare which accounts must be reconciled before the period locks (idempotent)."""
    ep = entity_period_for_close(entity_period_id)
    require_entity_perm(actor, CLOSE, ep.entity)
    entity_period_share_lock_unlocked(ep)
    found = books().posting_account_ids(organisation_id=ep.organisation_id, account_ids=account_ids)
    if missing := [a for a in account_ids if a not in found]:
        raise ValidationFailed("Unknown account.", errors=[FieldError(
            "accounts", "Not a posting account of this organisation.", value=a) for a in missing])
    return [AccountReconciliation.objects.get_or_create(entity_period=ep, account_id=a,
                                                        defaults={"organisation_id": ep.organisation_id})[0]
            for a in account_ids]


def _locked_rec(reconciliation_id: int, *, unlocked: bool = True) -> AccountReconciliation:
    ep_id = (AccountReconciliation.objects.filter(pk=reconciliation_id)
             .values_list("entity_period_id", flat=True).first())
    if ep_id is None:
        raise NotFound(f"Reconciliation {reconciliation_id} not found.")
    ep = entity_period_for_close(ep_id)
    if unlocked:
        entity_period_share_lock_unlocked(ep)
    rec = (locks.reconciliations_for_update()
           .select_related("entity_period__entity", "entity_period__period", "account").get(pk=reconciliation_id))
    return rec


def _items_total(rec: AccountReconciliation) -> Decimal:
    return sum(rec.items.values_list("amount", flat=True), Decimal(0))


def _withdraw_sign_off(rec: AccountReconciliation) -> None:
    """What was signed changed: the signatures no longer hold (pins stay, for the record)."""
    rec.status = ReconciliationStatus.OPEN
    rec.prepared_by = rec.prepared_at = rec.reviewed_by = rec.reviewed_at = None


@transaction.atomic(durable=True)
def reconciliation_prepare(*, actor, entity_period_id: int, account_id: int, statement_balance: Decimal,
                           note: str = "") -> AccountReconciliation:
    """The preparer enters the statement (or sub-ledger) balance and signs the account's GL
    closing balance at the period end: pins it with the posted-line count behind it and the hash
    of the period's lines. Refused while the reconciling items leave a difference unexplained.
    Preparing again (after a lapse, or a new item) re-pins and clears any review."""
    named_actor_require(actor)
    ep = entity_period_for_close(entity_period_id)
    require_entity_perm(actor, PREPARE, ep.entity)
    entity_period_share_lock_unlocked(ep)
    if statement_balance is None:
        raise ValidationFailed("Enter the statement balance.", errors=[FieldError(
            "statement_balance", "Required.", code="required")])
    statement_balance = quantize_amount(Decimal(statement_balance))
    rec = (locks.reconciliations_for_update()
           .filter(entity_period=ep, account_id=account_id).first())
    if rec is None:
        rec = reconciliation_require(actor=None, entity_period_id=ep.pk, account_ids=[account_id])[0]
        rec = locks.reconciliations_for_update().get(pk=rec.pk)
    closing, count, sha = books().account_closing_figures(entity_id=ep.entity_id, period_id=ep.period_id,
                                                  account_id=account_id)
    items = _items_total(rec)
    left = unexplained_difference(gl_balance=closing, statement_balance=statement_balance, items_total=items)
    if left != 0:
        raise ReconciliationUnexplainedError(
            f"GL closing balance {closing:,.2f} less statement balance {statement_balance:,.2f} is "
            f"{closing - statement_balance:,.2f}; the reconciling items explain {items:,.2f}, leaving "
            f"{left:,.2f} unexplained. Add reconciling items for it first.",
            errors=[FieldError("statement_balance", f"{left:,.2f} unexplained.", code="unexplained",
                               value=str(left))])
    rec.status = ReconciliationStatus.PREPARED
    rec.pinned_closing_balance, rec.pinned_line_count, rec.pinned_lines_sha256 = closing, count, sha
    rec.statement_balance = statement_balance
    rec.prepared_by, rec.prepared_at, rec.reviewed_by, rec.reviewed_at = actor, timezone.now(), None, None
    rec.note = note
    rec.save()
    return rec


@transaction.atomic(durable=True)
def reconciliation_item_add(*, actor, reconciliation_id: int, description: str, amount: Decimal) -> ReconcilingItem:
    """A reconciling item explains part of GL − statement (positive: the GL is higher). Adding
    one to a signed reconciliation withdraws its signatures: it must be prepared again."""
    named_actor_require(actor)
    description = (description or "").strip()
    errors = []
    if not description:
        errors.append(FieldError("description", "Required.", code="required"))
    if amount is None or Decimal(amount) == 0:
        errors.append(FieldError("amount", "Enter a non-zero amount.", code="required", value=str(amount)))
    if errors:
        raise ValidationFailed("The reconciling item is incomplete.", errors=errors)
    rec = _locked_rec(reconciliation_id)
    require_entity_perm(actor, PREPARE, rec.entity_period.entity)
    item = ReconcilingItem.objects.create(organisation_id=rec.organisation_id, reconciliation=rec,
                                          description=description[:300], amount=quantize_amount(Decimal(amount)),
                                          created_by=actor)
    if rec.status != ReconciliationStatus.OPEN:
        _withdraw_sign_off(rec)
        rec._change_reason = "reconciling item added: sign-off withdrawn"
        rec.save(update_fields=["status", "prepared_by", "prepared_at", "reviewed_by", "reviewed_at"])
    return item


def evidence_storage_name(sha256: str) -> str:
    return content_addressed_name(EVIDENCE_PREFIX, sha256)


@transaction.atomic(durable=True)
def reconciliation_evidence_attach(*, actor, reconciliation_id: int, upload) -> ReconciliationEvidence:
    """Attach a supporting document (statement, sub-ledger report). ``upload`` is a Django
    File/UploadedFile with a name. The audit event names its SHA-256."""
    named_actor_require(actor)
    size = getattr(upload, "size", None)
    if not size:
        raise ValidationFailed("The file is empty.", errors=[FieldError("file", "Empty.", code="empty")])
    if size > EVIDENCE_MAX_BYTES:
        raise ValidationFailed("The file is too large.", errors=[FieldError(
            "file", f"At most {EVIDENCE_MAX_BYTES // (1024 * 1024)} MB.", code="too_large", value=size)])
    rec = _locked_rec(reconciliation_id)
    entity = rec.entity_period.entity
    if not (actor.is_superuser or has_entity_perm(actor, PREPARE, entity) or has_entity_perm(actor, APPROVE, entity)):
        raise PermissionDenied(f"Attaching evidence needs the prepare or approve permission on {entity.code}.",
                               perm=PREPARE, entity_code=entity.code)
    name = (getattr(upload, "name", "") or "evidence").rsplit("/", 1)[-1][:255]
    sha, storage_name, size = content_addressed_store(upload, prefix=EVIDENCE_PREFIX)
    if rec.evidence.filter(sha256=sha).exists():
        raise ValidationFailed("This document is already attached.", errors=[FieldError(
            "file", f"Already attached (SHA-256 {sha[:12]}…).", code="duplicate", value=name)])
    evidence = ReconciliationEvidence.objects.create(
        organisation_id=rec.organisation_id, reconciliation=rec, sha256=sha, storage_name=storage_name,
        file_name=name, size=size, content_type=(getattr(upload, "content_type", "") or "")[:100], uploaded_by=actor)
    audit_event_record(organisation_id=rec.organisation_id, action="reconciliation.evidence_attached",
                       object_type="periods.accountreconciliation", object_id=rec.pk,
                       changes={"sha256": sha, "file_name": name, "size": size, "storage_name": storage_name,
                                "evidence_id": evidence.pk})
    return evidence


@transaction.atomic(durable=True)
def reconciliation_review(*, actor, reconciliation_id: int) -> AccountReconciliation:
    """A second person certifies the prepared figures. Refused when the closing balance or its
    lines changed since preparation (the preparer must sign the new figures first)."""
    named_actor_require(actor)
    ep_id = (AccountReconciliation.objects.filter(pk=reconciliation_id)
             .values_list("entity_period_id", flat=True).first())
    if ep_id is None:
        raise NotFound(f"Reconciliation {reconciliation_id} not found.")
    ep = entity_period_for_close(ep_id)
    require_entity_perm(actor, APPROVE, ep.entity)
    entity_period_share_lock_unlocked(ep)
    rec = locks.reconciliations_for_update().get(pk=reconciliation_id)
    if rec.status != ReconciliationStatus.PREPARED:
        raise PeriodStateError(f"This reconciliation is {rec.get_status_display().lower()}; only a prepared one can "
                               "be reviewed.", code="reconciliation_wrong_state")
    if rec.prepared_by_id == actor.pk:
        raise SignOffError("You prepared this reconciliation; someone else must review it.")
    now = books().account_closing_figures(entity_id=ep.entity_id, period_id=ep.period_id, account_id=rec.account_id)
    if tuple(now) != (rec.pinned_closing_balance, rec.pinned_line_count, rec.pinned_lines_sha256):
        raise ReconciliationLapsedError(
            f"The GL closing balance changed since it was prepared (was {rec.pinned_closing_balance:,.2f} over "
            f"{rec.pinned_line_count} lines, now {now[0]:,.2f} over {now[1]}); it must be prepared again.")
    rec.status, rec.reviewed_by, rec.reviewed_at = ReconciliationStatus.REVIEWED, actor, timezone.now()
    rec.save(update_fields=["status", "reviewed_by", "reviewed_at"])
    return rec
