"""Consolidation API: request a run, follow it, read its results, drill from a consolidated
account to its components and on to the members' ledger lines, download the board pack."""
from __future__ import annotations

import io

from django.contrib.auth import get_user_model
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from consolidation.api.serializers import (
    AcquisitionFactCreateInput,
    AcquisitionFactOutput,
    ConsolidationAdjustmentCreateInput,
    ConsolidationGroupCreateInput,
    ConsolidationGroupOutput,
    ConsolidationJournalOutput,
    ConsolidationRunCreateInput,
    ConsolidationRunOutput,
    ConsolidationRunResultsOutput,
    FxRateCreateInput,
    FxRateOutput,
    FxRatesUploadInput,
    HoldingCreateInput,
    HoldingOutput,
    LedgerRoleGrantInput,
)
from consolidation.api.worklist import GroupLockMixin, RunReportsMixin
from consolidation.models import (
    AcquisitionAdjustment,
    ConsolidationGroup,
    ConsolidationRun,
    FxRate,
    GroupMember,
    RunStatus,
)
from consolidation.selectors.boardpack import board_pack_write
from consolidation.selectors.explain import account_components
from consolidation.services.ledger_access import (
    consolidation_adjustment_prepare,
    consolidation_journals_list,
    consolidation_ledger_role_grant,
)
from consolidation.services.rates_import import fx_rates_import
from consolidation.services.runs import (
    adjustment_record,
    consolidation_group_create,
    consolidation_run_request,
    fx_rate_create,
    group_member_add,
)
from ledger.models import Account
from periods.models import Period
from sheshi.access.roles import VIEW
from sheshi.api.conditional import ConditionalWriteMixin
from sheshi.api.error_schema import error_statuses
from sheshi.api.idempotency import idempotent
from sheshi.api.renderers import XlsxRenderer
from sheshi.api.viewsets import EntityScopedMixin, OrgScopedMixin
from sheshi.errors import FieldError, NotFound, RuleViolation, ValidationFailed
from sheshi.tenancy.models import Entity, Organisation
from sheshi.tenancy.scoping import entity_by_code, entity_ids_for, organisation_ids_for

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _visible_group(user, group_id: int) -> ConsolidationGroup:
    """A group is visible through its top entity, like its runs: a group the caller cannot see is
    404, so neither it nor its entity's code leaks through a permission message."""
    group = (ConsolidationGroup.objects.select_related("top_entity", "organisation")
             .filter(pk=group_id, organisation_id__in=organisation_ids_for(user),
                     top_entity_id__in=entity_ids_for(user, VIEW))
             .first())
    if group is None:
        raise NotFound("Unknown consolidation group.")
    return group


class FxRateViewSet(OrgScopedMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """The FX rates of the caller's organisations (every member reads them); entering one needs the
    close permission on an entity of the organisation (fx_rate_create)."""

    queryset = FxRate.objects.all()
    serializer_class = FxRateOutput
    filterset_fields = {"organisation": ["exact"], "from_currency": ["exact"], "to_currency": ["exact"],
                        "rate_type": ["exact"], "rate_date": ["exact", "gte", "lte"]}

    @extend_schema(request=FxRateCreateInput, responses={201: FxRateOutput})
    @idempotent
    def create(self, request, *args, **kwargs):
        data = FxRateCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = dict(data.validated_data)
        org_id = v.pop("organisation")
        if org_id not in organisation_ids_for(request.user):
            raise NotFound("Unknown organisation.")
        rate = fx_rate_create(actor=request.user, organisation=Organisation.objects.get(pk=org_id), **v)
        return Response(FxRateOutput(rate).data, status=status.HTTP_201_CREATED)

    @extend_schema(request={"multipart/form-data": FxRatesUploadInput}, responses={201: OpenApiTypes.OBJECT})
    @action(detail=False, methods=["post"], parser_classes=[MultiPartParser])
    @idempotent
    def upload(self, request):
        """A rate set from a CSV or XLSX file (from, to, type, rate, date): every row checked, every
        problem listed with its row, nothing written on any (fx_rates_import)."""
        data = FxRatesUploadInput(data=request.data)
        data.is_valid(raise_exception=True)
        org_id, upload = data.validated_data["organisation"], data.validated_data["file"]
        if org_id not in organisation_ids_for(request.user):
            raise NotFound("Unknown organisation.")
        result = fx_rates_import(actor=request.user, organisation=Organisation.objects.get(pk=org_id), stream=upload,
                                 filename=upload.name, source=f"api:{upload.name}"[:64])
        return Response({"created": result.created}, status=status.HTTP_201_CREATED)


class ConsolidationGroupViewSet(ConditionalWriteMixin, GroupLockMixin, EntityScopedMixin, mixins.CreateModelMixin,
                                viewsets.ReadOnlyModelViewSet):
    """Groups whose top entity the caller may view; creating one needs close_periods on the top entity.
    Unlock and ledger roles need If-Match with the group's ETag; lock and adjustments, which create, take it
    optionally."""

    queryset = ConsolidationGroup.objects.select_related("top_entity", "elimination_entity")
    serializer_class = ConsolidationGroupOutput
    entity_field = "top_entity_id"
    filterset_fields = ["organisation", "code"]

    @extend_schema(request=ConsolidationGroupCreateInput, responses={201: ConsolidationGroupOutput})
    @idempotent
    def create(self, request, *args, **kwargs):
        data = ConsolidationGroupCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        top = entity_by_code(request.user, data.validated_data["top_entity"], VIEW)
        if top is None:
            raise NotFound(f"Entity {data.validated_data['top_entity']} not found.")
        group = consolidation_group_create(actor=request.user, organisation=top.organisation,
                                           code=data.validated_data["code"], name=data.validated_data["name"],
                                           top_entity=top)
        return Response(ConsolidationGroupOutput(group).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=LedgerRoleGrantInput, responses={204: None})
    @action(detail=True, methods=["post"], url_path="ledger-roles")
    def ledger_roles(self, request, pk=None):
        """Grant a role on the group's consolidation ledger (organisation admins)."""
        group = _visible_group(request.user, int(pk))
        self.if_match_check(group)
        data = LedgerRoleGrantInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = (get_user_model().objects.filter(username=data.validated_data["username"],
                                                memberships__organisation_id=group.organisation_id).first())
        if user is None:
            raise ValidationFailed("Unknown user.", errors=[FieldError("username", "Not a member of the organisation.",
                                                                       code="unknown_user")])
        consolidation_ledger_role_grant(actor=request.user, group=group, user=user, role=data.validated_data["role"])
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(responses={200: ConsolidationJournalOutput(many=True)})
    @action(detail=True, methods=["get"], url_path=r"journals/(?P<period_code>\d{4}-\d{2})")
    def journals(self, request, pk=None, period_code=None):
        """The journals of the group's consolidation ledger in a period (VIEW on the ledger)."""
        group = _visible_group(request.user, int(pk))
        period = Period.objects.filter(organisation_id=group.organisation_id, code=period_code).first()
        if period is None:
            raise NotFound("Unknown period.")
        entries = consolidation_journals_list(actor=request.user, group=group, period=period)
        return Response(ConsolidationJournalOutput(entries, many=True).data)

    @extend_schema(request=ConsolidationAdjustmentCreateInput, responses={201: ConsolidationJournalOutput})
    @action(detail=True, methods=["post"], url_path="adjustments")
    @idempotent
    def adjustments(self, request, pk=None):
        """Prepare a manual adjustment (a draft entry) in the group's consolidation ledger; approved
        and posted through /journal-entries/. Needs VIEW and PREPARE on the ledger."""
        group = _visible_group(request.user, int(pk))
        self.if_match_check(group)
        data = ConsolidationAdjustmentCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        period = Period.objects.filter(organisation_id=group.organisation_id, code=v["period"]).first()
        accounts = {a.code: a for a in Account.objects.filter(
            organisation_id=group.organisation_id, code__in=[line["account"] for line in v["lines"]])}
        errors = [FieldError(f"lines[{i}].account", "Unknown account code.", code="unknown_account",
                             value=line["account"]) for i, line in enumerate(v["lines"])
                  if line["account"] not in accounts]
        if period is None:
            errors.append(FieldError("period", "Unknown period code.", code="unknown_period", value=v["period"]))
        if errors:
            raise ValidationFailed("The adjustment is not valid.", errors=errors)
        entry = consolidation_adjustment_prepare(
            actor=request.user, group=group, period=period, description=v["description"],
            lines=[(accounts[line["account"]], line["amount"]) for line in v["lines"]])
        return Response(ConsolidationJournalOutput(entry).data, status=status.HTTP_201_CREATED)


class HoldingViewSet(EntityScopedMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Effective-dated holdings of the groups the caller may view (through the top entity); adding
    one needs close_periods on the group's top entity (group_member_add)."""

    queryset = GroupMember.objects.select_related("entity", "parent")
    serializer_class = HoldingOutput
    entity_field = "group__top_entity_id"
    filterset_fields = ["group", "entity"]

    @extend_schema(request=HoldingCreateInput, responses={201: HoldingOutput})
    @idempotent
    def create(self, request, *args, **kwargs):
        data = HoldingCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = dict(data.validated_data)
        group = _visible_group(request.user, v.pop("group"))
        codes = {v["entity"], v["parent"]}
        found = {e.code: e for e in Entity.objects.filter(organisation_id=group.organisation_id, code__in=codes)}
        errors = [FieldError(f, "Unknown entity code.", code="unknown_entity", value=v[f])
                  for f in ("entity", "parent") if v[f] not in found]
        if errors:
            raise ValidationFailed("The holding is not valid.", errors=errors)
        holding = group_member_add(actor=request.user, group=group, entity=found[v.pop("entity")],
                                   parent=found[v.pop("parent")], **v)
        return Response(HoldingOutput(holding).data, status=status.HTTP_201_CREATED)


class AcquisitionFactViewSet(EntityScopedMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Acquisition facts and adjustments of the groups the caller may view (through the top
    entity); recording one needs close_periods on the group's top entity (adjustment_record)."""

    queryset = AcquisitionAdjustment.objects.select_related(
        "entity", "period", "buyer", "inventory_account", "cogs_account").prefetch_related("lines__account")
    serializer_class = AcquisitionFactOutput
    entity_field = "group__top_entity_id"
    filterset_fields = ["group", "kind", "entity"]

    @extend_schema(request=AcquisitionFactCreateInput, responses={201: AcquisitionFactOutput})
    @idempotent
    def create(self, request, *args, **kwargs):
        data = AcquisitionFactCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        group = _visible_group(request.user, v["group"])
        org = group.organisation_id
        entity_codes = {v["entity"], v.get("buyer")} - {None}
        account_codes = {line["account"] for line in v.get("lines", [])} | (
            {v.get("inventory_account"), v.get("cogs_account")} - {None})
        entities = {e.code: e for e in Entity.objects.filter(organisation_id=org, code__in=entity_codes)}
        accounts = {a.code: a for a in Account.objects.filter(organisation_id=org, code__in=account_codes)}
        period = Period.objects.filter(organisation_id=org, code=v["period"]).first() if v.get("period") else None
        errors = [FieldError(f, "Unknown entity code.", code="unknown_entity", value=v[f])
                  for f in ("entity", "buyer") if v.get(f) and v[f] not in entities]
        errors += [FieldError(f, "Unknown account code.", code="unknown_account", value=v[f])
                   for f in ("inventory_account", "cogs_account") if v.get(f) and v[f] not in accounts]
        errors += [FieldError(f"lines[{i}].account", "Unknown account code.", code="unknown_account",
                              value=line["account"])
                   for i, line in enumerate(v.get("lines", [])) if line["account"] not in accounts]
        if v.get("period") and period is None:
            errors.append(FieldError("period", "Unknown period code.", code="unknown_period", value=v["period"]))
        if errors:
            raise ValidationFailed("The acquisition fact is not valid.", errors=errors)
        fact = adjustment_record(
            actor=request.user, group=group, kind=v["kind"], entity=entities[v["entity"]],
            lines=[(accounts[line["account"]], line["amount"]) for line in v.get("lines", [])], period=period,
            buyer=entities.get(v.get("buyer")), amount=v.get("amount"),
            inventory_account=accounts.get(v.get("inventory_account")),
            cogs_account=accounts.get(v.get("cogs_account")))
        return Response(AcquisitionFactOutput(self.get_queryset().get(pk=fact.pk)).data, status=status.HTTP_201_CREATED)


class ConsolidationRunViewSet(RunReportsMixin, EntityScopedMixin, mixins.CreateModelMixin,
                              viewsets.ReadOnlyModelViewSet):
    """Runs of groups whose top entity the caller may view; requesting one needs close_periods there."""

    queryset = ConsolidationRun.objects.select_related("group__organisation", "period", "requested_by")
    serializer_class = ConsolidationRunOutput
    entity_field = "group__top_entity_id"
    filterset_fields = ["group", "status"]

    @extend_schema(request=ConsolidationRunCreateInput, responses={202: ConsolidationRunOutput})
    @idempotent
    def create(self, request, *args, **kwargs):
        data = ConsolidationRunCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        group = _visible_group(request.user, data.validated_data["group"])
        period = Period.objects.filter(organisation_id=group.organisation_id,
                                       code=data.validated_data["period"]).first()
        if period is None:
            raise NotFound("Unknown period.")
        run = consolidation_run_request(actor=request.user, group=group, period=period)
        run.refresh_from_db()  # the task may already have run it (synchronous queue)
        return Response(ConsolidationRunOutput(run).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get"])
    @error_statuses(409)  # the run has not succeeded (yet)
    def results(self, request, pk=None):
        return Response(ConsolidationRunResultsOutput(self._succeeded()).data)

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get"], url_path=r"accounts/(?P<code>[A-Za-z0-9_.-]+)")
    @error_statuses(409)  # the run has not succeeded (yet)
    def account(self, request, pk=None, code=None):
        """A consolidated amount and its components: each member's translated balance (local amount
        and rate), its translation difference and every elimination, with a link to the member's
        ledger lines (general ledger report) for the member components."""
        run = self._succeeded()
        components = account_components(run.results, code)
        if not components:
            raise NotFound(f"Account {code} has no figures in run {run.pk}.")
        entity_ids = dict(Entity.objects.filter(organisation_id=run.organisation_id).values_list("code", "id"))
        account_id = Account.objects.filter(organisation_id=run.organisation_id, code=code).values_list(
            "id", flat=True).first()
        fy_first = Period.objects.filter(fiscal_year_id=run.period.fiscal_year_id, number=1).values_list(
            "code", flat=True).first()
        out = []
        for c in components:
            item = dict(c)
            if c["source"] == "trial_balance":
                item["entity_id"], item["account_id"] = entity_ids.get(c["entity"]), account_id
                item["ledger_lines"] = (f"/api/v1/reports/general-ledger/?entity={c['entity']}&account={code}"
                                        f"&period_from={fy_first}&period={run.period.code}")
            out.append(item)
        return Response({"run": run.pk, "fingerprint": run.fingerprint, "account": code,
                         "amount": run.results["consolidated_tb"].get(code, "0.00"), "components": out})

    @extend_schema(responses={(200, XLSX): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"], url_path="board-pack", renderer_classes=[JSONRenderer, XlsxRenderer])
    @error_statuses(409)  # the run has not succeeded (yet)
    def board_pack(self, request, pk=None):
        run = self._succeeded()
        buf = io.BytesIO()
        board_pack_write(run, buf)
        response = HttpResponse(buf.getvalue(), content_type=XLSX)
        response["Content-Disposition"] = (f'attachment; filename="board-pack-{run.group.code}-{run.period.code}-'
                                           f'run{run.pk}.xlsx"')
        return response

    def _succeeded(self) -> ConsolidationRun:
        run = self.get_object()
        if run.status != RunStatus.SUCCEEDED:
            raise RuleViolation(f"Run {run.pk} is {run.status}; results exist only for a succeeded run.",
                                code="consolidation_run_not_succeeded")
        return run
