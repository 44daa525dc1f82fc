"""Journal entries and their lines. Posted entries and their lines never change (PostgreSQL
refuses it); a posted entry is corrected only by a reversal that points to it."""
from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.indexes import BTreeIndex
from django.db import models

from ledger.models.accounts import Account
from periods.models import Period
from sheshi.history import history
from sheshi.money import ISO_4217_BY_USE, amount_field, rate_field
from sheshi.tenancy.models import Entity, Organisation


class EntrySource(models.TextChoices):
    MANUAL = "manual", "Manual"
    IMPORT = "import", "Import"
    CLOSING = "closing", "System: closing"
    ELIMINATION = "elimination", "System: elimination"
    REVALUATION = "revaluation", "System: revaluation"
    TRANSLATION = "translation", "System: translation"
    REVERSAL = "reversal", "System: reversal"
    # Drafted by a monthly recurrence (ledger/services/recurring.py): approved as a manual entry is.
    RECURRING = "recurring", "Recurring"


class EntryStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"
    APPROVED = "approved", "Approved"
    POSTED = "posted", "Posted"
    VOID = "void", "Void"  # withdrawn before posting: kept with its number and reason, never in a balance


class JournalEntry(models.Model):
    # No database foreign keys on the references (db_constraint=False): PostgreSQL checks them once
    # per statement instead of once per row (ledger/sql/0008_reference_checks.sql — existence, a
    # FOR KEY SHARE lock until commit, and triggers that refuse deleting a referenced row), which
    # is what lets the bulk path post a million lines without a million deferred checks at commit.
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, db_constraint=False)
    # entity: the entry_entity_period_status index serves it; the four users are never looked up
    # from the entry side (only a user's deletion checks them): no index of their own, each one was
    # an index insert per entry for nothing.
    entity = models.ForeignKey(Entity, on_delete=models.PROTECT, related_name="journal_entries", db_constraint=False,
                               db_index=False)
    period = models.ForeignKey(Period, on_delete=models.PROTECT, related_name="journal_entries", db_constraint=False)
    entry_date = models.DateField()
    description = models.CharField(max_length=500)
    # db_default: the bulk path inserts entries with an explicit column list that leaves it out.
    reference = models.CharField(max_length=100, blank=True, default="", db_default="")
    source = models.CharField(max_length=16, choices=EntrySource.choices, default=EntrySource.MANUAL)
    status = models.CharField(max_length=10, choices=EntryStatus.choices, default=EntryStatus.DRAFT)
    reverses = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="reversed_by", db_constraint=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+",
                                   db_constraint=False, db_index=False)
    created_at = models.DateTimeField(auto_now_add=True)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+", db_constraint=False, db_index=False)
    submitted_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+", db_constraint=False, db_index=False)
    approved_at = models.DateTimeField(null=True, blank=True)
    posted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+", db_constraint=False, db_index=False)
    posted_at = models.DateTimeField(null=True, blank=True)
    voided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+", db_constraint=False, db_index=False)
    voided_at = models.DateTimeField(null=True, blank=True)
    void_reason = models.CharField(max_length=500, blank=True, default="", db_default="")
    # An accrual: when the entry is posted, its reversal is drafted dated this day, in a later
    # period (ledger/services/accruals.py).
    reverse_on = models.DateField(null=True, blank=True)
    idempotency_key = models.CharField(max_length=128, null=True, blank=True)
    request_hash = models.CharField(max_length=64, blank=True, default="")
    import_batch_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    # history_user is checked like the references above. The history table keeps the indexes it
    # is read by (id, history_date, history_user) and none per copied foreign key: each one cost
    # every bulk posting an index insert per entry for a look-up nothing makes.
    history = history(user_db_constraint=False,
                      no_db_index=["organisation", "entity", "period", "reverses", "created_by", "submitted_by",
                                   "approved_by", "posted_by", "voided_by", "import_batch_id"])

    class Meta:
        verbose_name_plural = "journal entries"
        ordering = ["-entry_date", "-id"]
        indexes = [
            models.Index(fields=["entity", "period", "status"], name="entry_entity_period_status"),
            # The posting rule looks up an entity's closing entries on every posting (is a fiscal
            # year closed?): without this partial index it read every entry of the entity, a cost
            # per posting growing with the ledger. Only closing entries are in it.
            models.Index(fields=["entity", "period"], condition=models.Q(source="closing"),
                         name="entry_closing_by_entity"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=EntryStatus.values), name="entry_status_valid"),
            models.CheckConstraint(condition=models.Q(source__in=EntrySource.values), name="entry_source_valid"),
            # Segregation of duties: the approver is never the preparer.
            models.CheckConstraint(
                condition=models.Q(approved_by__isnull=True) | ~models.Q(approved_by=models.F("created_by")),
                name="entry_approver_not_preparer"),
            models.CheckConstraint(
                condition=models.Q(source=EntrySource.REVERSAL, reverses__isnull=False)
                | (~models.Q(source=EntrySource.REVERSAL) & models.Q(reverses__isnull=True)),
                name="entry_reversal_points_to_original"),
            models.CheckConstraint(
                condition=~models.Q(status=EntryStatus.POSTED) | models.Q(posted_at__isnull=False),
                name="entry_posted_has_time"),
            # A void entry says who withdrew it, when and why (ledger/sql/0017 keeps it unchanged after).
            models.CheckConstraint(
                condition=~models.Q(status=EntryStatus.VOID)
                | (models.Q(voided_at__isnull=False) & models.Q(void_reason__regex=r"\S")),
                name="entry_void_has_reason"),
            models.CheckConstraint(
                condition=models.Q(reverse_on__isnull=True) | models.Q(reverse_on__gt=models.F("entry_date")),
                name="entry_reverse_on_after_entry_date"),
            models.UniqueConstraint(fields=["organisation", "created_by", "idempotency_key"],
                                    condition=models.Q(idempotency_key__isnull=False),
                                    name="entry_idempotency_key_unique"),
        ]

    def __str__(self) -> str:
        return f"JE{self.pk} {self.description[:40]}"


class JournalLine(models.Model):
    """Amounts are signed: debit positive, credit negative. ``functional_amount`` is in the
    entity's functional currency; an entry balances when its functional amounts sum to zero.

    organisation/entity/period repeat the entry's so reports and row-level security need no
    join; the posting trigger refuses a line whose copies disagree with its entry."""

    # Copies of the entry's keys: no index of their own (reports use the composite indexes below;
    # each unused index cost bulk posting ~0.5 s per 100k lines in bench/ledger).
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, db_constraint=False, related_name="+",
                                     db_index=False)
    entity = models.ForeignKey(Entity, on_delete=models.PROTECT, db_constraint=False, related_name="+",
                               db_index=False)
    period = models.ForeignKey(Period, on_delete=models.PROTECT, db_constraint=False, related_name="+",
                               db_index=False)
    # entry and account: checked per statement like JournalEntry's references (see there).
    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="lines", db_index=False,
                              db_constraint=False)
    line_no = models.PositiveIntegerField()
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="lines", db_index=False,
                                db_constraint=False)
    currency = models.CharField(max_length=3)
    amount = amount_field()
    rate = rate_field(default=1)
    functional_amount = amount_field()
    counterparty = models.ForeignKey(Entity, null=True, blank=True, on_delete=models.PROTECT, db_constraint=False,
                                     related_name="+", db_index=False)
    dimensions = models.JSONField(default=dict, blank=True)
    memo = models.CharField(max_length=500, blank=True, default="")
    import_batch_id = models.BigIntegerField(null=True, blank=True)
    source_row = models.PositiveIntegerField(null=True, blank=True)
    source_raw = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["entry_id", "line_no"]
        indexes = [
            BTreeIndex(fields=["entry", "line_no"], name="line_entry_line_no"),
            BTreeIndex(fields=["account", "period", "entity"], name="line_account_period_entity"),
            models.Index(fields=["import_batch_id", "source_row"], name="line_import_lineage",
                         condition=models.Q(import_batch_id__isnull=False)),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(rate__gt=0), name="line_rate_positive"),
            models.CheckConstraint(condition=models.Q(currency__in=ISO_4217_BY_USE), name="line_currency_iso"),
            models.CheckConstraint(condition=~models.Q(amount=0, functional_amount=0), name="line_not_zero"),
            models.CheckConstraint(
                condition=(models.Q(amount__gte=0) & models.Q(functional_amount__gte=0))
                | (models.Q(amount__lte=0) & models.Q(functional_amount__lte=0)),
                name="line_amount_signs_agree"),
        ]

    def __str__(self) -> str:
        return f"JE{self.entry_id}#{self.line_no}"
