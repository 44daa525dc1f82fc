"""Consolidation API: request a run, follow it, read its results, drill from a consolidated
account to its components and on to the members' ledger lines, download the board pack."""
from __future__ import annotations

import io

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from consolidation.api.serializers import (
    ConsolidationRunCreateInput,
    ConsolidationRunOutput,
    ConsolidationRunResultsOutput,
)
from consolidation.explain import account_components
from consolidation.models import ConsolidationGroup, ConsolidationRun, RunStatus
from consolidation.services import consolidation_run_request
from ledger.models import Account
from periods.models import Period
from sheshi.access.roles import VIEW
from sheshi.api.viewsets import EntityScopedMixin
from sheshi.errors import NotFound, RuleViolation
from sheshi.tenancy.models import Entity
from sheshi.tenancy.scoping import entity_ids_for, organisation_ids_for

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


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
        # A group is visible through its top entity, like its runs: a group the caller cannot see is
        # 404, so neither it nor its entity's code leaks through a permission message.
        group = (ConsolidationGroup.objects.select_related("top_entity", "organisation")
                 .filter(pk=data.validated_data["group"], organisation_id__in=organisation_ids_for(request.user),
                         top_entity_id__in=entity_ids_for(request.user, VIEW))
                 .first())
        if group is None:
            raise NotFound("Unknown consolidation group.")
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
    @action(detail=True, methods=["get"], url_path="board-pack")
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
