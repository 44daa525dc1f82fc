"""Shapes only: money stays Decimal and travels as strings; no arithmetic here."""
from __future__ import annotations

from django.urls import reverse
from rest_framework import serializers

from ledger.models import (
    Account,
    AccountKind,
    AccountRole,
    AccountType,
    EntrySource,
    JournalEntry,
    JournalEntryAttachment,
    JournalEntryBatch,
    JournalEntryComment,
    JournalLine,
)
from sheshi.api.field_cache import ClassBuiltFieldsMixin, DeclaredFieldsCopyMixin
from sheshi.money import AMOUNT_DIGITS, AMOUNT_PLACES, RATE_DIGITS, RATE_PLACES
from sheshi.security.validation import DecimalStringField


def money(**kw):
    return serializers.DecimalField(max_digits=AMOUNT_DIGITS, decimal_places=AMOUNT_PLACES, **kw)


def money_in(**kw):
    """Money coming in: the strict decimal string only (sheshi.security.validation)."""
    return DecimalStringField(max_digits=AMOUNT_DIGITS, decimal_places=AMOUNT_PLACES, **kw)


class AccountOutput(serializers.ModelSerializer):
    parent = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    ic_pair = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)

    class Meta:
        model = Account
        fields = ["id", "code", "name", "parent", "kind", "type", "normal_balance", "is_intercompany", "role",
                  "ic_pair", "is_active"]


class AccountInput(serializers.Serializer):
    code = serializers.RegexField(r"^[A-Z0-9][A-Z0-9_.-]{0,31}$", max_length=32)
    name = serializers.CharField(max_length=200)
    parent = serializers.CharField(max_length=32, required=False, allow_null=True)
    kind = serializers.ChoiceField(AccountKind.choices, default=AccountKind.POSTING)
    type = serializers.ChoiceField(AccountType.choices)
    is_intercompany = serializers.BooleanField(default=False)
    role = serializers.ChoiceField(AccountRole.choices, default="", allow_blank=True)
    ic_pair = serializers.CharField(max_length=32, required=False, allow_null=True)


class AccountMoveInput(serializers.Serializer):
    parent = serializers.CharField(max_length=32, allow_null=True)


class LineInputSerializer(DeclaredFieldsCopyMixin, serializers.Serializer):
    account = serializers.CharField(max_length=32, help_text="Group account code (a posting account).")
    amount = money_in(help_text="Signed: debit positive, credit negative, in `currency`.")
    currency = serializers.RegexField(r"^[A-Z]{3}$", required=False,
                                      help_text="ISO 4217; defaults to the entity's functional currency.")
    rate = DecimalStringField(max_digits=RATE_DIGITS, decimal_places=RATE_PLACES, required=False,
                                    help_text="Functional units per unit of `currency`; required (positive) for a "
                                              "line not in the entity's functional currency.")
    functional_amount = money_in(required=False)
    counterparty = serializers.CharField(max_length=32, required=False, allow_null=True,
                                         help_text="Entity code of the intercompany counterparty.")
    dimensions = serializers.DictField(child=serializers.CharField(max_length=64), required=False)
    memo = serializers.CharField(max_length=500, required=False, allow_blank=True)


class JournalEntryCreateInput(DeclaredFieldsCopyMixin, serializers.Serializer):
    entity = serializers.CharField(max_length=32, help_text="Entity code.")
    entry_date = serializers.DateField()
    period = serializers.CharField(max_length=16, required=False,
                                   help_text="Period code; defaults to the regular period containing entry_date.")
    description = serializers.CharField(max_length=500)
    source = serializers.ChoiceField([EntrySource.MANUAL], default=EntrySource.MANUAL)
    lines = LineInputSerializer(many=True, min_length=2, max_length=10_000)
    post = serializers.BooleanField(default=False, help_text="Post at once (sources that need no approval).")
    reverse_on = serializers.DateField(required=False, allow_null=True,
                                       help_text="An accrual: when the entry is posted, its reversal is drafted on "
                                                 "this day (in a later period). null: not reversed automatically.")
    auto_reverse = serializers.BooleanField(required=False, default=False,
                                            help_text="true without reverse_on: reverse on the first day of the next "
                                                      "period.")


class JournalEntryUpdateInput(serializers.Serializer):
    """A merge patch of a draft: the fields sent replace the entry's; ``lines``, when sent, replace
    all its lines. A new ``entry_date`` without ``period`` moves the entry to the date's period."""

    entry_date = serializers.DateField(required=False)
    period = serializers.CharField(max_length=16, required=False, help_text="Period code.")
    description = serializers.CharField(max_length=500, required=False)
    reference = serializers.CharField(max_length=100, required=False, allow_blank=True)
    lines = LineInputSerializer(many=True, min_length=2, max_length=10_000, required=False)
    reverse_on = serializers.DateField(required=False, allow_null=True,
                                       help_text="An accrual: when the entry is posted, its reversal is drafted on "
                                                 "this day (in a later period). null: not reversed automatically.")
    auto_reverse = serializers.BooleanField(required=False,
                                            help_text="true without reverse_on: reverse on the first day of the next "
                                                      "period.")


class JournalEntriesPostAllInput(serializers.Serializer):
    entries = serializers.ListField(child=serializers.IntegerField(min_value=1), min_length=1, max_length=500,
                                    help_text="Ids of the entries to post, all or none.")


class VoidInput(serializers.Serializer):
    reason = serializers.CharField(max_length=500, help_text="Why the entry is withdrawn (kept with it).")


class EntryLinesOutput(serializers.ListSerializer):
    """An entry's lines: those the service just wrote when the view passes them (context
    ``written_lines``, from CreateResult.lines), so a new entry's response needs no second read;
    otherwise read from the entry."""

    def get_attribute(self, instance):
        return self.context.get("written_lines") or super().get_attribute(instance)


class JournalLineOutput(ClassBuiltFieldsMixin, serializers.ModelSerializer):
    account = serializers.SlugRelatedField(slug_field="code", read_only=True)
    counterparty = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)

    class Meta:
        model = JournalLine
        list_serializer_class = EntryLinesOutput
        fields = ["line_no", "account", "currency", "amount", "rate", "functional_amount", "counterparty",
                  "dimensions", "memo", "import_batch_id", "source_row"]


class JournalEntryOutput(ClassBuiltFieldsMixin, serializers.ModelSerializer):
    entity = serializers.SlugRelatedField(slug_field="code", read_only=True)
    period = serializers.SlugRelatedField(slug_field="code", read_only=True)
    lines = JournalLineOutput(many=True, read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    approved_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    posted_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    voided_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = JournalEntry
        fields = ["id", "entity", "period", "entry_date", "description", "reference", "source", "status",
                  "reverses", "created_by", "created_at", "approved_by", "approved_at", "posted_by", "posted_at",
                  "voided_by", "voided_at", "void_reason", "import_batch_id", "reverse_on", "lines"]


class ReverseInput(serializers.Serializer):
    entry_date = serializers.DateField(required=False, help_text="The reversal's date. Default: the first day of "
                                       "the entity's next open period after the original's.")
    period = serializers.CharField(max_length=16, required=False,
                                   help_text="Period code; defaults to the regular period containing entry_date "
                                             "(or, without entry_date, the period's first day is the date).")
    description = serializers.CharField(max_length=500, required=False, allow_blank=True)


class ReportRowOutput(serializers.Serializer):
    account_id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()
    type = serializers.CharField()
    kind = serializers.CharField()
    depth = serializers.IntegerField()
    debit = money()
    credit = money()
    net = money()


class TrialBalanceOutput(serializers.Serializer):
    entity = serializers.CharField(source="entity.code")
    period = serializers.CharField(source="period.code")
    period_from = serializers.CharField(source="period_from.code", allow_null=True)
    as_of = serializers.DateField(allow_null=True)
    currency = serializers.CharField(source="entity.functional_currency")
    rows = ReportRowOutput(many=True)
    total_debit = money()
    total_credit = money()
    reconciles = serializers.BooleanField()


class StatementOutput(serializers.Serializer):
    title = serializers.CharField()
    sections = serializers.DictField(child=ReportRowOutput(many=True))
    totals = serializers.DictField(child=money())
    reconciles = serializers.BooleanField()


class GeneralLedgerLineOutput(serializers.Serializer):
    line_id = serializers.IntegerField()
    entry_id = serializers.IntegerField()
    entry_date = serializers.DateField()
    period = serializers.CharField()
    description = serializers.CharField()
    source = serializers.CharField()
    line_no = serializers.IntegerField()
    currency = serializers.CharField()
    amount = money()
    functional_amount = money()
    memo = serializers.CharField()
    counterparty_id = serializers.IntegerField(allow_null=True)
    import_batch_id = serializers.IntegerField(allow_null=True)
    source_row = serializers.IntegerField(allow_null=True)
    running_balance = money()


class GeneralLedgerOutput(serializers.Serializer):
    opening_balance = money()
    lines = GeneralLedgerLineOutput(many=True)


class BatchEntryInput(serializers.Serializer):
    entry_date = serializers.DateField()
    period = serializers.CharField(max_length=16, required=False,
                                   help_text="Period code; defaults to the regular period containing entry_date.")
    description = serializers.CharField(max_length=500)
    reference = serializers.CharField(max_length=100, required=False, allow_blank=True)
    lines = LineInputSerializer(many=True, min_length=2, max_length=10_000)


class JournalEntryBatchInput(serializers.Serializer):
    """Documents the JSON form of POST /journal-entries/batch/; the view reads it with the same
    rules without serializers (ledger/api/batch_input.py), for speed."""

    entity = serializers.CharField(max_length=32, help_text="Entity code: every entry of a batch is of one entity.")
    entries = BatchEntryInput(many=True, min_length=1, max_length=10_000)


class JournalEntryBatchOutput(serializers.ModelSerializer):
    entity = serializers.SlugRelatedField(slug_field="code", read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    entries = serializers.IntegerField(source="entry_count", help_text="Entries posted.")
    lines = serializers.IntegerField(source="line_count", help_text="Lines posted.")
    entry_ids = serializers.ListField(child=serializers.IntegerField(),
                                     help_text="The posted entries' ids, in the order they were sent.")

    class Meta:
        model = JournalEntryBatch
        fields = ["id", "entity", "entries", "lines", "entry_ids", "created_by", "created_at"]


class JournalEntryAttachmentInput(serializers.Serializer):
    file = serializers.FileField(help_text="The supporting document (at most 25 MB).")


class JournalEntryAttachmentOutput(serializers.ModelSerializer):
    uploaded_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    download = serializers.SerializerMethodField(help_text="Path of the document's bytes (GET).")

    class Meta:
        model = JournalEntryAttachment
        fields = ["id", "entry", "file_name", "sha256", "size", "content_type", "uploaded_by", "uploaded_at",
                  "download"]

    def get_download(self, obj) -> str:
        return reverse("journal-entry-attachment-download", args=[obj.entry_id, obj.pk])


class JournalEntryCommentInput(serializers.Serializer):
    body = serializers.CharField(max_length=5000)


class JournalEntryCommentOutput(serializers.ModelSerializer):
    author = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = JournalEntryComment
        fields = ["id", "entry", "body", "author", "created_at"]
