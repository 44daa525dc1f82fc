"""The close checklist (per-organisation templates → per entity-period tasks), account
reconciliation sign-offs, and the record of a controller overriding them to lock."""
from __future__ import annotations

from django.conf import settings
from django.db import models

from periods.models.state import EntityPeriod
from sheshi.access.roles import Role
from sheshi.history import history
from sheshi.money import amount_field
from sheshi.stored_documents import StoredDocument
from sheshi.tenancy.models import Organisation

ROLE_CHOICES = [("", "—")] + [(r.value, r.value.replace("_", " ").title()) for r in Role]


class ChecklistTemplate(models.Model):
    """An organisation's standard close checklist; tasks are copied from it into each entity-period."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="checklist_templates")
    # None: every entity of the organisation; set: that entity's own checklist only.
    entity = models.ForeignKey("tenancy.Entity", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="checklist_templates")
    name = models.CharField(max_length=100)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    history = history()

    class Meta:
        ordering = ["organisation_id", "name"]
        constraints = [models.UniqueConstraint(fields=["organisation", "name"], name="checklist_template_name_unique")]

    def __str__(self) -> str:
        return self.name


class ChecklistTemplateItem(models.Model):
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    template = models.ForeignKey(ChecklistTemplate, on_delete=models.PROTECT, related_name="items")
    position = models.PositiveSmallIntegerField()
    title = models.CharField(max_length=200)
    required = models.BooleanField(default=True)
    default_owner_role = models.CharField(max_length=16, choices=ROLE_CHOICES, blank=True, default="")
    due_offset_days = models.SmallIntegerField(default=0)  # days after the period's last day (negative: before)
    # A second person signs the task off after it is done (never the one who completed it).
    requires_review = models.BooleanField(default=False)
    history = history()

    class Meta:
        ordering = ["template_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["template", "position"], name="checklist_item_position_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.title}"


class TaskStatus(models.TextChoices):
    OPEN = "open", "Open"
    IN_PROGRESS = "in_progress", "In progress"
    DONE = "done", "Done"
    SIGNED_OFF = "signed_off", "Signed off"


class ChecklistTask(models.Model):
    """One close task of one entity-period. A required task that is not done blocks the lock."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    entity_period = models.ForeignKey(EntityPeriod, on_delete=models.PROTECT, related_name="checklist_tasks")
    template_item = models.ForeignKey(ChecklistTemplateItem, null=True, blank=True, on_delete=models.PROTECT,
                                      related_name="tasks")
    title = models.CharField(max_length=200)
    required = models.BooleanField(default=True)
    owner_role = models.CharField(max_length=16, choices=ROLE_CHOICES, blank=True, default="")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+")
    due_date = models.DateField()
    status = models.CharField(max_length=12, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    evidence = models.FileField(upload_to="close-evidence/%Y/%m/", blank=True, default="")
    completed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+")
    completed_at = models.DateTimeField(null=True, blank=True)
    requires_review = models.BooleanField(default=False)
    signed_off_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                      related_name="+")
    signed_off_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = history()

    class Meta:
        ordering = ["entity_period_id", "due_date", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=TaskStatus.values),
                                   name="checklist_task_status_valid"),
            models.CheckConstraint(
                condition=(models.Q(status__in=[TaskStatus.DONE, TaskStatus.SIGNED_OFF])
                           & models.Q(completed_at__isnull=False))
                | (~models.Q(status__in=[TaskStatus.DONE, TaskStatus.SIGNED_OFF])
                   & models.Q(completed_at__isnull=True, completed_by__isnull=True)),
                name="checklist_task_done_has_completion"),
            models.CheckConstraint(
                condition=(models.Q(status=TaskStatus.SIGNED_OFF)
                           & models.Q(requires_review=True, signed_off_at__isnull=False, signed_off_by__isnull=False))
                | (~models.Q(status=TaskStatus.SIGNED_OFF)
                   & models.Q(signed_off_at__isnull=True, signed_off_by__isnull=True)),
                name="checklist_task_signed_off_has_reviewer"),
            # Four eyes: the reviewer who signs a task off is never the person who completed it.
            models.CheckConstraint(
                condition=models.Q(signed_off_by__isnull=True) | ~models.Q(signed_off_by=models.F("completed_by")),
                name="checklist_task_reviewer_not_preparer"),
            models.UniqueConstraint(fields=["entity_period", "template_item"], condition=models.Q(
                template_item__isnull=False), name="checklist_task_once_per_item"),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.get_status_display().lower()})"

    @property
    def finished(self) -> bool:
        """Done, and signed off by a second person where the task asks for review."""
        return self.status == TaskStatus.SIGNED_OFF or (self.status == TaskStatus.DONE and not self.requires_review)


class ChecklistTaskComment(models.Model):
    """A note on a close task (who asked what, what was found). Append-only."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    task = models.ForeignKey(ChecklistTask, on_delete=models.PROTECT, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["task_id", "created_at", "id"]
        constraints = [models.CheckConstraint(condition=~models.Q(body=""), name="checklist_comment_not_empty")]

    def __str__(self) -> str:
        return f"Comment on “{self.task.title}”"


class ReconciliationStatus(models.TextChoices):
    OPEN = "open", "Open"
    PREPARED = "prepared", "Prepared"
    REVIEWED = "reviewed", "Reviewed"


class AccountReconciliation(models.Model):
    """A preparer and then a different reviewer sign off one account's closing balance at the end
    of one entity-period against the statement or sub-ledger balance entered, the difference
    explained by reconciling items. Preparing pins the GL closing balance (functional, as the trial
    balance shows it: balance-sheet accounts from inception, income and expense from the start of
    the fiscal year), the posted-line count behind it, and a SHA-256 over the period's own posted
    lines of the account; the sign-off has lapsed whenever the current figures differ from the
    pinned ones (periods.selectors.close.reconciliation_list computes that on read, so it cannot drift
    from the balances whoever posted)."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    entity_period = models.ForeignKey(EntityPeriod, on_delete=models.PROTECT, related_name="reconciliations")
    account = models.ForeignKey("ledger.Account", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=10, choices=ReconciliationStatus.choices, default=ReconciliationStatus.OPEN)
    pinned_closing_balance = amount_field(null=True, blank=True)  # GL closing balance when prepared
    pinned_line_count = models.BigIntegerField(null=True, blank=True)  # posted lines behind it
    statement_balance = amount_field(null=True, blank=True)  # bank statement / sub-ledger balance entered
    pinned_lines_sha256 = models.CharField(max_length=64, blank=True, default="")
    prepared_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    prepared_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    reviewed_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True, default="")
    history = history()

    class Meta:
        ordering = ["entity_period_id", "account_id"]
        constraints = [
            models.UniqueConstraint(fields=["entity_period", "account"], name="reconciliation_once_per_account"),
            models.CheckConstraint(condition=models.Q(status__in=ReconciliationStatus.values),
                                   name="reconciliation_status_valid"),
            # Four eyes: the reviewer is never the preparer.
            models.CheckConstraint(
                condition=models.Q(reviewed_by__isnull=True) | ~models.Q(reviewed_by=models.F("prepared_by")),
                name="reconciliation_reviewer_not_preparer"),
            models.CheckConstraint(
                condition=models.Q(status=ReconciliationStatus.OPEN)
                | (models.Q(pinned_closing_balance__isnull=False, pinned_line_count__isnull=False,
                            statement_balance__isnull=False, prepared_at__isnull=False)
                   & ~models.Q(pinned_lines_sha256="")),
                name="reconciliation_signed_has_pin"),
            models.CheckConstraint(
                condition=~models.Q(status=ReconciliationStatus.REVIEWED)
                | models.Q(reviewed_at__isnull=False, reviewed_by__isnull=False, prepared_by__isnull=False),
                name="reconciliation_reviewed_has_reviewer"),
        ]

    def __str__(self) -> str:
        return f"Reconciliation of {self.account} ({self.entity_period})"


class ReconcilingItem(models.Model):
    """One explained part of the difference between the GL and the statement balance (an
    outstanding cheque, a deposit in transit). Append-only: a wrong item is offset by another."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    reconciliation = models.ForeignKey(AccountReconciliation, on_delete=models.PROTECT, related_name="items")
    description = models.CharField(max_length=300)
    amount = amount_field()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["reconciliation_id", "id"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(description=""), name="reconciling_item_described"),
            models.CheckConstraint(condition=~models.Q(amount=0), name="reconciling_item_not_zero"),
        ]

    def __str__(self) -> str:
        return f"{self.description}: {self.amount}"


class ReconciliationEvidence(StoredDocument):
    """A supporting document of a reconciliation, stored content-addressed (the file's name in the
    default storage is its SHA-256), so the same statement uploaded twice is one file and the
    audit trail's hash identifies the bytes. Append-only."""

    reconciliation = models.ForeignKey(AccountReconciliation, on_delete=models.PROTECT, related_name="evidence")

    class Meta:
        ordering = ["reconciliation_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["reconciliation", "sha256"], name="reconciliation_evidence_once"),
            models.CheckConstraint(condition=models.Q(sha256__regex=r"^[0-9a-f]{64}$"),
                                   name="reconciliation_evidence_sha256_hex"),
        ]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.sha256[:12]}…)"


class LockOverride(models.Model):
    """A controller locked a period although checklist tasks or reconciliations were open or
    lapsed: who, when, why, and what was outstanding. Append-only."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    entity_period = models.ForeignKey(EntityPeriod, on_delete=models.PROTECT, related_name="lock_overrides")
    overridden_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    overridden_at = models.DateTimeField(auto_now_add=True)
    reason = models.TextField()
    blockers = models.JSONField()  # [{"kind": "task"|"reconciliation", "id": .., "title": .., "state": ..}]

    class Meta:
        ordering = ["-overridden_at"]
        constraints = [models.CheckConstraint(condition=~models.Q(reason=""), name="lock_override_reason_required")]

    def __str__(self) -> str:
        return f"Lock override of {self.entity_period}"
