"""Ledger API: parse → one service call → output. Scoping comes from sheshi/api/viewsets.py."""
from __future__ import annotations

import hashlib
from decimal import Decimal

import django_filters
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.services.events import audit_read
from ledger.api.batch_input import Codes, CsvTextParser, csv_entries, entries_from_csv, entries_from_json
from ledger.api.entry_records import JournalEntryRecordsMixin
from ledger.api.serializers import (
    AccountInput,
    AccountMoveInput,
    AccountOutput,
    GeneralLedgerOutput,
    JournalEntriesPostAllInput,
    JournalEntryBatchInput,
    JournalEntryBatchOutput,
    JournalEntryCreateInput,
    JournalEntryOutput,
    JournalEntryUpdateInput,
    ReverseInput,
    StatementOutput,
    TrialBalanceOutput,
    VoidInput,
)
from ledger.errors import BatchTooLargeError
from ledger.etags import if_match_tags, journal_entry_etag
from ledger.inputs import EntryInput, LineInput
from ledger.models import Account, JournalEntry
from ledger.selectors import reports
from ledger.selectors.inbox import journal_entries_awaiting_approval_list
from ledger.services import entries as services
from ledger.services.batch import MAX_BATCH_ENTRIES, journal_entries_batch_post
from ledger.services.chart import account_create, account_move
from ledger.services.inbox import journal_entries_post_all
from periods.models import EntityPeriod, Period, PeriodState
from sheshi.access.roles import VIEW
from sheshi.api.conditional import ConditionalWriteMixin
from sheshi.api.filters import FilterSet
from sheshi.api.idempotency import (
    IDEMPOTENCY_KEY_PARAMETER,
    REPLAYED_HEADER,
    REPLAYED_HEADER_PARAMETER,
    idempotency_key,
    idempotent,
)
from sheshi.api.parsers import DecimalJSONParser
from sheshi.api.serializer_reuse import represented, validated
from sheshi.api.viewsets import EntityScopedMixin, OrgScopedMixin
from sheshi.errors import FieldError, NotFound, PreconditionRequired, ValidationFailed
from sheshi.exports import export
from sheshi.gc_pause import cyclic_gc_paused
from sheshi.report_files import GROUP, POSTING, ReportFile, report_response
from sheshi.tenancy.models import Entity
from sheshi.tenancy.scoping import entity_by_code, organisation_ids_for


class AccountViewSet(ConditionalWriteMixin, OrgScopedMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """The group chart of accounts of the caller's organisations. Organisation admins maintain it."""

    queryset = Account.objects.select_related("parent", "ic_pair")
    serializer_class = AccountOutput
    filterset_fields = ["code", "type", "kind", "role", "is_intercompany", "is_active", "organisation"]

    @extend_schema(request=AccountInput, responses={201: AccountOutput},
                   parameters=[OpenApiParameter("organisation", int, required=True)])
    @idempotent
    def create(self, request, *args, **kwargs):
        data = AccountInput(data=request.data)
        data.is_valid(raise_exception=True)
        org_id = request.query_params.get("organisation") or request.data.get("organisation")
        if not org_id or not str(org_id).isdigit() or int(org_id) not in organisation_ids_for(request.user):
            raise NotFound("Unknown organisation.")
        account = account_create(actor=request.user, organisation_id=int(org_id), **data.validated_data)
        return Response(AccountOutput(account).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=AccountMoveInput, responses=AccountOutput)
    @action(detail=True, methods=["post"])
    def move(self, request, pk=None):
        account = self.get_object()
        data = AccountMoveInput(data=request.data)
        data.is_valid(raise_exception=True)
        moved = account_move(actor=request.user, account_id=account.pk, parent_code=data.validated_data["parent"])
        return Response(AccountOutput(moved).data)


def _entity_for(user, code: str, perm: str = VIEW) -> Entity:
    entity = entity_by_code(user, code, perm)
    if entity is None:
        raise NotFound(f"Entity {code} not found.")
    return entity


def _to_entry_input(entity: Entity, data: dict) -> EntryInput:
    codes = {line["account"] for line in data["lines"]}
    ids = services.account_ids_by_code(entity.organisation_id, sorted(codes))
    cps = {line.get("counterparty") for line in data["lines"] if line.get("counterparty")}
    cp_ids = dict(Entity.objects.filter(organisation_id=entity.organisation_id, code__in=cps)
                  .values_list("code", "id")) if cps else {}
    errors = [FieldError(f"lines[{i}].account", "Unknown account code.", code="unknown_account", value=line["account"])
              for i, line in enumerate(data["lines"]) if line["account"] not in ids]
    errors += [FieldError(f"lines[{i}].counterparty", "Unknown entity code.", code="unknown_counterparty",
                          value=line["counterparty"])
               for i, line in enumerate(data["lines"])
               if line.get("counterparty") and line["counterparty"] not in cp_ids]
    # A foreign-currency line states its rate, even with a functional amount (the service derives
    # one from that amount only for imports, whose ERP files carry functional amounts, not rates).
    errors += [FieldError(f"lines[{i}].rate", f"A {line['currency']} line needs a rate to "
                          f"{entity.functional_currency}.", code="rate_required")
               for i, line in enumerate(data["lines"])
               if line.get("currency") not in (None, entity.functional_currency) and line.get("rate") is None]
    period_id = None
    if data.get("period"):
        period_id = Period.objects.filter(organisation_id=entity.organisation_id, code=data["period"]) \
            .values_list("pk", flat=True).first()
        if period_id is None:
            errors.append(FieldError("period", "Unknown period code.", code="unknown_period", value=data["period"]))
    if errors:
        raise ValidationFailed("The journal entry is not valid.", errors=errors)
    lines = [LineInput(account_id=ids[line["account"]], amount=line["amount"], currency=line.get("currency"),
                       rate=line.get("rate"), functional_amount=line.get("functional_amount"),
                       counterparty_id=cp_ids.get(line.get("counterparty")), dimensions=line.get("dimensions") or {},
                       memo=line.get("memo", "")) for line in data["lines"]]
    return EntryInput(entry_date=data["entry_date"], description=data["description"], lines=lines,
                      period_id=period_id, reference=data.get("reference", ""), reverse_on=data.get("reverse_on"),
                      auto_reverse=bool(data.get("auto_reverse")))


def _merged_draft(entry: JournalEntry, patch: dict) -> dict:
    """The entry as the API writes it (codes, decimal values), with the patch's fields on top."""
    current = {
        "entry_date": entry.entry_date, "description": entry.description, "reference": entry.reference,
        "period": None if "entry_date" in patch else entry.period.code,
        # Kept as it is unless the patch says otherwise (a new date keeps the reversal date).
        "reverse_on": entry.reverse_on,
        "lines": [{"account": ln.account.code, "amount": ln.amount, "currency": ln.currency, "rate": ln.rate,
                   "functional_amount": ln.functional_amount,
                   "counterparty": ln.counterparty.code if ln.counterparty_id else None,
                   "dimensions": ln.dimensions, "memo": ln.memo}
                  for ln in sorted(entry.lines.all(), key=lambda ln: ln.line_no)],
    }
    return {**current, **patch}


class JournalEntryFilter(FilterSet):
    # Named for the object, as every filter is (tests/security/test_api_conventions.py).
    import_batch = django_filters.NumberFilter(field_name="import_batch_id", help_text="import batch id")
    awaiting_my_approval = django_filters.BooleanFilter(
        method="_awaiting_my_approval", help_text="true: the caller's inbox — submitted and approved entries of "
                                                  "entities where the caller may approve, not prepared by the caller")

    def _awaiting_my_approval(self, queryset, name, value):
        if not value:
            return queryset
        return queryset.filter(pk__in=journal_entries_awaiting_approval_list(self.request.user).values("pk"))

    class Meta:
        model = JournalEntry
        fields = ["status", "source", "entity", "period", "import_batch"]


IF_MATCH = OpenApiParameter("If-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, required=True,
                            description="The ETag of the entry as last read (GET). A stale one answers 412; "
                                        "none answers 428.")


class JournalEntryViewSet(JournalEntryRecordsMixin, ConditionalWriteMixin, EntityScopedMixin,
                          viewsets.ReadOnlyModelViewSet):
    """Journal entries of entities the caller may view. Writes go through the workflow actions."""

    queryset = JournalEntry.objects.select_related("entity", "period", "created_by", "approved_by", "posted_by",
                                                   "voided_by") \
        .prefetch_related("lines__account", "lines__counterparty")
    serializer_class = JournalEntryOutput
    filterset_class = JournalEntryFilter

    if_match_checked_by_service = ("partial_update",)  # journal_entry_update, under the entry's lock

    def etag_for(self, obj) -> str:
        return journal_entry_etag(obj)  # the version the update service compares under the row lock

    def retrieve(self, request, *args, **kwargs):
        entry = self.get_object()
        audit_read(request._request, organisation_id=entry.organisation_id, object_type="ledger.journalentry",
                   object_id=entry.pk, action="journal.read")
        return Response(self.get_serializer(entry).data, headers={"ETag": journal_entry_etag(entry)})

    @extend_schema(request=JournalEntryUpdateInput, responses=JournalEntryOutput, parameters=[IF_MATCH])
    def partial_update(self, request, *args, **kwargs):
        """Edit a draft (journal_entry_update), conditional on the ETag the caller read."""
        entry = self.get_object()  # 404 outside the caller's view
        tags = if_match_tags(request.headers.get("If-Match"))
        if not tags:
            raise PreconditionRequired("Send If-Match with the entry's ETag (from GET) to edit it.")
        data = JournalEntryUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        merged = _merged_draft(entry, data.validated_data)
        services.journal_entry_update(actor=request.user, entry_id=entry.pk,
                                      entry=_to_entry_input(entry.entity, merged), if_match=tags)
        fresh = self.get_queryset().get(pk=entry.pk)
        return Response(JournalEntryOutput(fresh).data, headers={"ETag": journal_entry_etag(fresh)})

    @extend_schema(request=VoidInput, responses=JournalEntryOutput)
    @action(detail=True, methods=["post"])
    def void(self, request, pk=None):
        """Withdraw a draft or submitted entry, with a reason (journal_entry_void)."""
        entry = self.get_object()  # 404 outside the caller's view
        data = VoidInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.journal_entry_void(actor=request.user, entry_id=entry.pk, reason=data.validated_data["reason"])
        return Response(JournalEntryOutput(self.get_queryset().get(pk=entry.pk)).data)

    # Journal entries keep their Idempotency-Key on the entry itself, written in the entry's own
    # transaction (ledger/services/entries.py), so a key is never left claimed by a request that
    # died; the answers are the convention's (sheshi/api/idempotency.py): a replay is the first
    # status with Idempotent-Replayed: true, another body with the same key is 409.
    @extend_schema(request=JournalEntryCreateInput, responses={201: JournalEntryOutput},
                   parameters=[IDEMPOTENCY_KEY_PARAMETER, REPLAYED_HEADER_PARAMETER])
    def create(self, request):
        v = validated(JournalEntryCreateInput, request.data)  # one serializer reused: the hot path
        entity = _entity_for(request.user, v["entity"])
        # A key first used for another create endpoint is refused by the entry's insert (ledger/sql/0029).
        key = idempotency_key(request)
        create = services.journal_entry_create_and_post if v["post"] else services.journal_entry_create
        result = create(actor=request.user, entity=entity, entry=_to_entry_input(entity, v), source=v["source"],
                        idempotency_key=key, request_hash=services.request_fingerprint(request.data))
        # A new entry comes back with what was just written; a replay is read as stored.
        entry = self.get_queryset().get(pk=result.entry.pk) if result.replayed else result.entry
        return Response(represented(JournalEntryOutput, entry, {"written_lines": result.lines}),
                        status=status.HTTP_201_CREATED,
                        headers={REPLAYED_HEADER: "true"} if result.replayed else None)

    @extend_schema(
        request={"application/json": JournalEntryBatchInput, "text/csv": OpenApiTypes.STR},
        responses={201: JournalEntryBatchOutput},
        parameters=[IDEMPOTENCY_KEY_PARAMETER, REPLAYED_HEADER_PARAMETER,
                    OpenApiParameter("entity", str, description="Entity code (CSV bodies only; a JSON body names it "
                                                                "in `entity`).")],
        description="Post up to 10,000 entries of one entity at once (source manual), all or nothing: every "
                    "refusal is listed (`errors[].field` names the entry and line, `row` the CSV row). CSV: a "
                    "header row with the columns entry (rows with the same value, one after another, form one "
                    "entry), entry_date, description, account, amount and optionally period, reference, currency, "
                    "rate, functional_amount, counterparty, memo, dim.<name>.")
    @action(detail=False, methods=["post"], url_path="batch", parser_classes=[DecimalJSONParser, CsvTextParser])
    @cyclic_gc_paused()
    def batch(self, request):
        """Many entries posted through the bulk path (ledger/services/batch.py). Its key is kept on the
        batch row, in the posting's transaction, as single entries keep theirs."""
        # Read before DRF parses the stream: a retry is recognised by its exact bytes.
        fingerprint = hashlib.sha256(request._request.body).hexdigest()
        data = request.data
        rows = None
        if isinstance(data, str):  # text/csv
            code = request.query_params.get("entity") or ""
            raw, rows, errors = csv_entries(data)
        elif isinstance(data, dict):
            code, raw, errors = data.get("entity"), data.get("entries"), []
        else:
            raise ValidationFailed("Send a JSON object with entity and entries, or CSV.",
                                   errors=[FieldError("body", "A JSON object or text/csv.")])
        if not isinstance(code, str) or not code:
            raise ValidationFailed("Name the entity.", errors=[FieldError("entity", "An entity code is required "
                                   "(for CSV: ?entity=CODE).", code="required")])
        entity = _entity_for(request.user, code)
        key = idempotency_key(request)  # first used elsewhere: refused by the batch row's insert, before any line
        if isinstance(raw, list) and len(raw) > MAX_BATCH_ENTRIES:
            raise BatchTooLargeError(f"A batch holds at most {MAX_BATCH_ENTRIES:,} entries; this one has "
                                     f"{len(raw):,}. Split it.", errors=[FieldError(
                                         "entries", f"At most {MAX_BATCH_ENTRIES:,} entries.",
                                         code="too_many_entries", value=len(raw))])
        codes = Codes(entity)
        entries, bad = entries_from_csv(raw, rows, codes) if rows is not None else entries_from_json(raw, codes)
        errors += bad
        if errors:
            raise ValidationFailed(f"The batch is not valid ({len(errors):,} problems); nothing was posted.",
                                   errors=errors)
        result = journal_entries_batch_post(actor=request.user, entity=entity, entries=entries, idempotency_key=key,
                                            request_hash=fingerprint)
        return Response(JournalEntryBatchOutput(result.batch).data, status=status.HTTP_201_CREATED,
                        headers={REPLAYED_HEADER: "true"} if result.replayed else None)

    @extend_schema(request=JournalEntriesPostAllInput, responses=JournalEntryOutput(many=True),
                   description="Post several entries all or none (each through the single posting's checks). "
                               "422 bulk_post_refused lists every entry that cannot be posted as "
                               "`errors[].field` = `entries[<id>]`; then none was posted.")
    @action(detail=False, methods=["post"], url_path="post-all", pagination_class=None)
    def post_all(self, request):
        data = JournalEntriesPostAllInput(data=request.data)
        data.is_valid(raise_exception=True)
        ids = sorted(set(data.validated_data["entries"]))
        visible = set(self.get_queryset().filter(pk__in=ids).values_list("pk", flat=True))
        if missing := [i for i in ids if i not in visible]:
            raise NotFound(f"Journal entry {missing[0]} not found.")
        posted = journal_entries_post_all(actor=request.user, entry_ids=ids)
        return Response(JournalEntryOutput(self.get_queryset().filter(pk__in=[e.pk for e in posted]).order_by("pk"),
                                           many=True).data)

    def _transition(self, request, pk, service, **kw):
        entry = self.get_object()  # 404 outside the caller's view
        service(actor=request.user, entry_id=entry.pk, **kw)
        return Response(JournalEntryOutput(self.get_queryset().get(pk=entry.pk)).data)

    @extend_schema(request=None, responses=JournalEntryOutput)
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        return self._transition(request, pk, services.journal_entry_submit)

    @extend_schema(request=None, responses=JournalEntryOutput)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return self._transition(request, pk, services.journal_entry_approve)

    @extend_schema(request=None, responses=JournalEntryOutput)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        return self._transition(request, pk, services.journal_entry_reject)

    @extend_schema(request=None, responses=JournalEntryOutput)
    # Not named `post`: a view method with an HTTP verb's name would answer POST on every route.
    @action(detail=True, methods=["post"], url_path="post", url_name="post")
    def post_entry(self, request, pk=None):
        return self._transition(request, pk, services.journal_entry_post)

    @extend_schema(request=ReverseInput, responses={201: JournalEntryOutput})
    @action(detail=True, methods=["post"])
    @idempotent
    def reverse(self, request, pk=None):
        entry = self.get_object()
        data = ReverseInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = dict(data.validated_data)
        period_id = None
        if code := v.pop("period", None):
            period_id = Period.objects.filter(organisation_id=entry.organisation_id, code=code) \
                .values_list("pk", flat=True).first()
            if period_id is None:
                raise ValidationFailed("Unknown period.", errors=[FieldError("period", "Unknown period code.",
                                                                              code="unknown_period", value=code)])
        # Under the organisation's reversal_needs_approval policy the reversal comes back submitted.
        reversal = services.journal_entry_reverse(actor=request.user, entry_id=entry.pk, period_id=period_id, **v)
        return Response(JournalEntryOutput(self.get_queryset().get(pk=reversal.pk)).data,
                        status=status.HTTP_201_CREATED)


REPORT_PARAMS = [
    OpenApiParameter("entity", str, required=True, description="Entity code"),
    OpenApiParameter("period", str, required=True, description="Period code, e.g. 2026-03"),
    OpenApiParameter("period_from", str, description="First period of a range (movements only)"),
    OpenApiParameter("export", str, enum=["csv", "xlsx"], description="Download instead of JSON"),
]


def report_responses(output) -> dict:
    """JSON by default; ``export=csv|xlsx`` answers the same figures as a download."""
    return {(200, "application/json"): output, (200, "text/csv"): OpenApiTypes.BINARY,
            (200, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"): OpenApiTypes.BINARY}


MAX_OFFSET = 2**62  # an offset PostgreSQL's bigint takes; no ledger has that many lines


def int_param(params, name: str, default: int, *, low: int, high: int) -> int:
    """An integer query parameter within [low, high], or a 400 naming it (never a database error)."""
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.lstrip("-").isdigit() and len(raw) <= 20):
        raise ValidationFailed(f"{name} is an integer.", errors=[FieldError(name, "Not an integer.", value=raw)])
    value = int(raw)
    if not low <= value <= high:
        raise ValidationFailed(f"{name} is out of range.", errors=[FieldError(
            name, f"Between {low} and {high}.", code="out_of_range", value=raw)])
    return value


class ReportView(APIView):
    def _args(self, request, *, needs=("entity", "period")):
        q = request.query_params
        missing = [FieldError(k, "Required.", code="required") for k in needs if not q.get(k)]
        if missing:
            raise ValidationFailed("Missing report parameters.", errors=missing)
        entity = _entity_for(request.user, q["entity"])

        def period(code):
            p = Period.objects.select_related("fiscal_year").filter(organisation_id=entity.organisation_id,
                                                                  code=code).first()
            if p is None:
                raise ValidationFailed("Unknown period.", errors=[FieldError("period", "Unknown period code.",
                                                                             value=code)])
            return p

        return entity, period(q["period"]), period(q["period_from"]) if q.get("period_from") else None

    @staticmethod
    def _record_read(request, entity, period, report: str) -> None:
        """Who read which figures (and exported them) goes into the tamper-evident audit log."""
        action = "report.exported" if request.query_params.get("export") else "report.read"
        audit_read(request._request, organisation_id=entity.organisation_id, object_type=f"report.{report}",
                   object_id=f"{entity.code}/{period.code}", action=action)

    @staticmethod
    def _export(request, kind: str, title: str, entity, period, period_from, rows) -> HttpResponse:
        """The same file as the admin's report pages (sheshi/report_files.py): a header block naming
        organisation, entity, period, its state, generated at and by, and the totals; group rows marked and
        without figures, so a SUM over a column counts every amount once."""
        state = (EntityPeriod.objects.filter(entity=entity, period=period).values_list("state", flat=True).first()
                 or "")
        user = request.user
        label = f"{period_from.code} – {period.code}" if period_from else period.code
        posting = [r for r in rows if r.kind == "posting"]
        report = ReportFile(
            filename=f"{title.lower().replace(' ', '-')}-{entity.code}-{period.code}", title=title,
            currency=entity.functional_currency,
            header=[("Organisation", f"{entity.organisation.code} – {entity.organisation.name}"),
                    ("Entity", f"{entity.code} – {entity.name}"), ("Period", label),
                    ("Period state", PeriodState(state).label if state else "—"),
                    ("Currency", entity.functional_currency),
                    ("Generated at", timezone.localtime().strftime("%Y-%m-%d %H:%M:%S %Z")),
                    ("Generated by", user.get_full_name() or user.get_username())],
            columns=["Code", "Name", "Type", "Level", "Debit", "Credit", "Net"],
            rows=[(POSTING if r.kind == "posting" else GROUP, [r.code, r.name, r.type, r.depth, r.debit, r.credit,
                                                                 r.net]) for r in rows],
            totals=[("Total debit", sum((r.debit for r in posting), Decimal(0))),
                    ("Total credit", sum((r.credit for r in posting), Decimal(0)))])
        return report_response(kind, report)


class TrialBalanceView(ReportView):
    @extend_schema(parameters=[*REPORT_PARAMS, OpenApiParameter("as_of", OpenApiTypes.DATE)],
                   responses=report_responses(TrialBalanceOutput))
    def get(self, request):
        entity, period, period_from = self._args(request)
        as_of = request.query_params.get("as_of")
        if as_of:
            from django.utils.dateparse import parse_date

            as_of = parse_date(as_of)
            if as_of is None:
                raise ValidationFailed("Bad date.", errors=[FieldError("as_of", "Use YYYY-MM-DD.")])
        tb = reports.trial_balance(entity=entity, period=period, period_from=period_from, as_of=as_of)
        self._record_read(request, entity, period, "trial_balance")
        if request.query_params.get("export") in ("csv", "xlsx"):
            return self._export(request, request.query_params["export"], "Trial balance", entity, period,
                                period_from, tb.rows)
        return Response(TrialBalanceOutput(tb).data)


class IncomeStatementView(ReportView):
    @extend_schema(parameters=REPORT_PARAMS, responses=report_responses(StatementOutput))
    def get(self, request):
        entity, period, period_from = self._args(request)
        st = reports.income_statement(entity=entity, period=period, period_from=period_from)
        self._record_read(request, entity, period, "income_statement")
        if request.query_params.get("export") in ("csv", "xlsx"):
            return self._export(request, request.query_params["export"], "Income statement", entity, period,
                                period_from, [r for rows in st.sections.values() for r in rows])
        return Response(StatementOutput(st).data)


class BalanceSheetView(ReportView):
    @extend_schema(parameters=REPORT_PARAMS[:2] + REPORT_PARAMS[3:], responses=report_responses(StatementOutput))
    def get(self, request):
        entity, period, _ = self._args(request)
        st = reports.balance_sheet(entity=entity, period=period)
        self._record_read(request, entity, period, "balance_sheet")
        if request.query_params.get("export") in ("csv", "xlsx"):
            return self._export(request, request.query_params["export"], "Balance sheet", entity, period, None,
                                [r for rows in st.sections.values() for r in rows])
        return Response(StatementOutput(st).data)


class GeneralLedgerView(ReportView):
    """Posted lines of one account with a running balance; each line links to its entry and,
    for imported lines, to its import batch and source row."""

    @extend_schema(parameters=[*REPORT_PARAMS, OpenApiParameter("account", str, required=True),
                               OpenApiParameter("limit", int), OpenApiParameter("offset", int)],
                   responses=report_responses(GeneralLedgerOutput))
    def get(self, request):
        entity, period, period_from = self._args(request, needs=("entity", "period", "account"))
        account = get_object_or_404(Account, organisation_id=entity.organisation_id,
                                    code=request.query_params["account"])
        limit = int_param(request.query_params, "limit", 1000, low=1, high=10_000)
        offset = int_param(request.query_params, "offset", 0, low=0, high=MAX_OFFSET)
        data = reports.general_ledger(entity=entity, account_id=account.pk, period_from=period_from or period,
                                      period_to=period, limit=limit, offset=offset)
        self._record_read(request, entity, period, "general_ledger")
        if request.query_params.get("export") in ("csv", "xlsx"):
            keys = list(data["lines"][0]) if data["lines"] else ["line_id"]
            return export(request.query_params["export"], f"general-ledger-{entity.code}-{account.code}", keys,
                          [list(r.values()) for r in data["lines"]])
        return Response(GeneralLedgerOutput(data).data)
