"""Consolidation API: request a run, follow it, read its results, drill from a consolidated
account to its components and on to the members' ledger lines, download the board pack."""
from __future__ import annotations

import io

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from consolidation.api.serializers import (
    AcquisitionFactCreateInput,
    AcquisitionFactOutput,
    ConsolidationGroupCreateInput,
    ConsolidationGroupOutput,
    ConsolidationRunCreateInput,
    ConsolidationRunOutput,
    ConsolidationRunResultsOutput,
    FxRateCreateInput,
    FxRateOutput,
    HoldingCreateInput,
    HoldingOutput,
)
from consolidation.explain import account_components
from consolidation.models import (
    AcquisitionAdjustment,
    ConsolidationGroup,
    ConsolidationRun,
    FxRate,
    GroupMember,
    RunStatus,
)
from consolidation.services import (
    adjustment_record,
    consolidation_group_create,
    consolidation_run_request,
    fx_rate_create,
    group_member_add,
)
from ledger.models import Account
from periods.models import Period
from sheshi.access.roles import VIEW
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
    def create(self, request, *args, **kwargs):
        data = FxRateCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = dict(data.validated_data)
        org_id = v.pop("organisation")
        if org_id not in organisation_ids_for(request.user):
            raise NotFound("Unknown organisation.")
        rate = fx_rate_create(actor=request.user, organisation=Organisation.objects.get(pk=org_id), **v)
        return Response(FxRateOutput(rate).data, status=status.HTTP_201_CREATED)


class ConsolidationGroupViewSet(EntityScopedMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Groups whose top entity the caller may view; creating one needs close_periods on the top entity."""

    queryset = ConsolidationGroup.objects.select_related("top_entity", "elimination_entity")
    serializer_class = ConsolidationGroupOutput
    entity_field = "top_entity_id"
    filterset_fields = ["organisation", "code"]

    @extend_schema(request=ConsolidationGroupCreateInput, responses={201: ConsolidationGroupOutput})
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


class HoldingViewSet(EntityScopedMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Effective-dated holdings of the groups the caller may view (through the top entity); adding
    one needs close_periods on the group's top entity (group_member_add)."""

    queryset = GroupMember.objects.select_related("entity", "parent")
    serializer_class = HoldingOutput
    entity_field = "group__top_entity_id"
    filterset_fields = ["group", "entity"]

    @extend_schema(request=HoldingCreateInput, responses={201: HoldingOutput})
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


class ConsolidationRunViewSet(EntityScopedMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Runs of groups whose top entity the caller may view; requesting one needs close_periods there."""

    queryset = ConsolidationRun.objects.select_related("group__organisation", "period", "requested_by")
    serializer_class = ConsolidationRunOutput
    entity_field = "group__top_entity_id"
    filterset_fields = ["group", "status"]

    @extend_schema(request=ConsolidationRunCreateInput, responses={202: ConsolidationRunOutput})
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
    def results(self, request, pk=None):
        return Response(ConsolidationRunResultsOutput(self._succeeded()).data)

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get"], url_path=r"accounts/(?P<code>[A-Za-z0-9_.-]+)")
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
    def board_pack(self, request, pk=None):
        from consolidation.boardpack import board_pack_write

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
                                code="consolidation_run_not_succeeded", status=409)
        return run
