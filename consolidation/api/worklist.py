"""Consolidation API, second part: the intercompany worklist (list, assign, explain, resolve,
comment), the group's period lock and unlock, and the run reads the admin's run page shows
(statements, worksheet and schedules; a member's part of a figure down to its ledger lines; the
comparison of two runs). Each write is parse -> one service call -> output."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Q
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from consolidation.models import IcComment, IcDifference
from consolidation.selectors import run_reports
from consolidation.services.runs import (
    consolidation_group_period_lock,
    consolidation_group_period_unlock,
    ic_difference_assign,
    ic_difference_comment,
    ic_difference_explain,
    ic_difference_resolve,
)
from ledger.models import Account
from periods.models import Period
from sheshi.access.checks import has_entity_perm
from sheshi.access.roles import VIEW
from sheshi.api.conditional import ConditionalWriteMixin
from sheshi.api.error_schema import error_statuses
from sheshi.api.idempotency import idempotent
from sheshi.errors import FieldError, NotFound, ValidationFailed
from sheshi.tenancy.models import Entity
from sheshi.tenancy.scoping import entity_ids_for


def plain(obj: Any) -> Any:
    """Decimals as strings all the way down (DRF's encoder would make them floats)."""
    if isinstance(obj, Decimal):
        return str(obj)
    if isinstance(obj, dict):
        return {k: plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    if hasattr(obj, "__dataclass_fields__"):
        return plain(dict(vars(obj)))
    return obj


class IcCommentOutput(serializers.ModelSerializer):
    author = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = IcComment
        fields = ["id", "author", "text", "created_at"]


class IcDifferenceOutput(serializers.ModelSerializer):
    group = serializers.SlugRelatedField(slug_field="code", read_only=True)
    period = serializers.SlugRelatedField(slug_field="code", read_only=True)
    entity = serializers.SlugRelatedField(slug_field="code", read_only=True)
    account = serializers.SlugRelatedField(slug_field="code", read_only=True)
    counterparty = serializers.SlugRelatedField(slug_field="code", read_only=True)
    counterparty_account = serializers.SlugRelatedField(slug_field="code", read_only=True)
    assignee = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    comments = IcCommentOutput(many=True, read_only=True)

    class Meta:
        model = IcDifference
        fields = ["id", "group", "period", "run", "first_run", "entity", "account", "counterparty",
                  "counterparty_account", "entity_amount", "counterparty_amount", "difference", "eliminated", "status",
                  "assignee", "explanation", "resolution", "comments", "created_at", "updated_at"]


class IcAssignInput(serializers.Serializer):
    assignee = serializers.CharField(allow_null=True, help_text="Username, or null to unassign.")


class IcExplainInput(serializers.Serializer):
    explanation = serializers.CharField(allow_blank=True, max_length=5000)


class IcResolveInput(serializers.Serializer):
    resolution = serializers.CharField(allow_blank=True, max_length=5000)


class IcCommentInput(serializers.Serializer):
    text = serializers.CharField(allow_blank=True, max_length=5000)


def _valid(serializer_class, data) -> dict:
    s = serializer_class(data=data)
    s.is_valid(raise_exception=True)
    return s.validated_data


class IcDifferenceViewSet(ConditionalWriteMixin, viewsets.ReadOnlyModelViewSet):
    """The worklist rows of groups whose top entity the caller may view, or whose pair includes an
    entity the caller may view. Assigning and resolving need close_periods on the group's top
    entity; explaining and commenting also prepare_entries on either member of the pair. Every
    change needs If-Match with the row's ETag (a comment, a create, takes it optionally)."""

    serializer_class = IcDifferenceOutput
    filterset_fields = ["group", "period", "status", "assignee", "run"]

    def get_queryset(self):
        ids = entity_ids_for(self.request.user, VIEW)
        return (IcDifference.objects.filter(Q(group__top_entity_id__in=ids) | Q(entity_id__in=ids)
                                            | Q(counterparty_id__in=ids))
                .select_related("group", "period", "entity", "account", "counterparty", "counterparty_account",
                                "assignee").prefetch_related("comments__author").order_by("pk"))

    def _done(self, pk) -> Response:
        return Response(IcDifferenceOutput(self.get_queryset().get(pk=pk)).data)

    @extend_schema(request=IcAssignInput, responses={200: IcDifferenceOutput})
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        row = self.get_object()
        username = _valid(IcAssignInput, request.data)["assignee"]
        assignee = None
        if username is not None:
            assignee = get_user_model().objects.filter(username=username,
                                                       memberships__organisation_id=row.organisation_id).first()
            if assignee is None:
                raise ValidationFailed("Unknown assignee.", errors=[FieldError(
                    "assignee", "No such user in the organisation.", code="unknown_user", value=username)])
        ic_difference_assign(actor=request.user, difference_id=row.pk, assignee=assignee)
        return self._done(row.pk)

    @extend_schema(request=IcExplainInput, responses={200: IcDifferenceOutput})
    @action(detail=True, methods=["post"])
    def explain(self, request, pk=None):
        row = self.get_object()
        ic_difference_explain(actor=request.user, difference_id=row.pk,
                              explanation=_valid(IcExplainInput, request.data)["explanation"])
        return self._done(row.pk)

    @extend_schema(request=IcResolveInput, responses={200: IcDifferenceOutput})
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        row = self.get_object()
        ic_difference_resolve(actor=request.user, difference_id=row.pk,
                              resolution=_valid(IcResolveInput, request.data)["resolution"])
        return self._done(row.pk)

    @extend_schema(request=IcCommentInput, responses={201: IcDifferenceOutput})
    @action(detail=True, methods=["post"])
    @idempotent
    def comments(self, request, pk=None):
        row = self.get_object()
        ic_difference_comment(actor=request.user, difference_id=row.pk,
                              text=_valid(IcCommentInput, request.data)["text"])
        return Response(IcDifferenceOutput(self.get_queryset().get(pk=row.pk)).data, status=status.HTTP_201_CREATED)


class GroupLockInput(serializers.Serializer):
    period = serializers.RegexField(r"^\d{4}-\d{2}$", help_text="Period code YYYY-MM.")


class GroupUnlockInput(GroupLockInput):
    reason = serializers.CharField(allow_blank=True, max_length=100)


def group_period(group, code: str) -> Period:
    period = Period.objects.filter(organisation_id=group.organisation_id, code=code).first()
    if period is None:
        raise NotFound(f"Unknown period {code}.")
    return period


class GroupLockMixin:
    """Actions of ConsolidationGroupViewSet: lock and unlock the group's period."""

    @extend_schema(request=GroupLockInput, responses={201: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["post"])
    @idempotent
    def lock(self, request, pk=None):
        group = self.get_object()
        period = group_period(group, _valid(GroupLockInput, request.data)["period"])
        lock = consolidation_group_period_lock(actor=request.user, group=group, period=period)
        return Response({"group": group.code, "period": period.code, "entity_ids": lock.entity_ids,
                         "locked_at": lock.locked_at}, status=status.HTTP_201_CREATED)

    @extend_schema(request=GroupUnlockInput, responses={204: None})
    @action(detail=True, methods=["post"])
    def unlock(self, request, pk=None):
        group = self.get_object()
        data = _valid(GroupUnlockInput, request.data)
        consolidation_group_period_unlock(actor=request.user, group=group, period=group_period(group, data["period"]),
                                          reason=data["reason"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class RunReportsMixin:
    """Read actions of ConsolidationRunViewSet beside results and the account drill-down."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get"])
    @error_statuses(409)  # the run has not succeeded (yet)
    def statements(self, request, pk=None):
        """Balance sheet and income statement (owners / NCI, natural signs), the members
        worksheet, the CTA and NCI schedules."""
        run = self._succeeded()
        accounts = run_reports.accounts_by_code(run)
        columns, rows = run_reports.worksheet(run, accounts)
        nci_keys, nci_rows = run_reports.nci_schedule(run)
        return Response(plain({
            "run": run.pk, "group_currency": run.results["group_currency"],
            "statements": run_reports.statements(run, accounts),
            "worksheet": {"columns": columns, "rows": rows},
            "cta": {"members": run_reports.cta_schedule(run), "total": run.results["cta"],
                    "nci_share": run.results["cta_nci"]},
            "nci": {"columns": nci_keys, "members": nci_rows}}))

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get"],
            url_path=r"accounts/(?P<code>[A-Za-z0-9_.-]+)/members/(?P<entity>[A-Za-z0-9_.-]+)")
    @error_statuses(409)  # the run has not succeeded (yet)
    def member(self, request, pk=None, code=None, entity=None):
        """A member's part of a consolidated account: local balance, rate, translated amount, and
        (with the view permission on the member) its ledger lines with their import file rows."""
        run = self._succeeded()
        figure = run_reports.member_figure(run, code, entity)
        member = Entity.objects.filter(organisation_id=run.organisation_id, code=entity).first()
        account = Account.objects.filter(organisation_id=run.organisation_id, code=code).first()
        lines = None
        if member is not None and account is not None and has_entity_perm(request.user, VIEW, member):
            lines = run_reports.member_ledger_lines(run, member, account)
        return Response(plain({"run": run.pk, **figure, "ledger": lines}))

    @extend_schema(parameters=[OpenApiParameter("with", int, required=True, description="The other run's id.")],
                   responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get"])
    def compare(self, request, pk=None):
        """This run (before) against another of the same group and period (after): the input
        sections that changed and the figures that moved."""
        before = self.get_object()
        try:
            after = self.get_queryset().filter(pk=int(request.query_params.get("with", ""))).first()
        except ValueError:
            after = None
        if after is None:
            raise ValidationFailed("Name the run to compare with.", errors=[FieldError(
                "with", "A run id you can see.", code="unknown_run", value=request.query_params.get("with"))])
        return Response(plain(run_reports.run_compare(before, after)))
