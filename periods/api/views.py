"""Period API: parse → one service call → output. Scoping comes from sheshi/api/viewsets.py:
another tenant's object is not in the queryset, so it is 404."""
from __future__ import annotations

import django_filters
from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from ledger.services.year_end import year_end_close, year_end_reopen
from periods.api.serializers import (
    ChecklistAssignInput,
    ChecklistCommentInput,
    ChecklistFromTemplatesInput,
    ChecklistInstantiateInput,
    ChecklistStatusInput,
    ChecklistTaskOutput,
    ChecklistTemplateCreateInput,
    ChecklistTemplateOutput,
    CloseDashboardOutput,
    CloseDashboardQuery,
    EntityPeriodOutput,
    FiscalYearGenerateInput,
    FiscalYearOutput,
    LockInput,
    LockOutput,
    MoveInput,
    PeriodOutput,
    ReconciliationEvidenceInput,
    ReconciliationOutput,
    ReconciliationPrepareInput,
    ReconciliationRequireInput,
    ReconcilingItemInput,
    ReopenInput,
    SoftCloseInput,
    YearEndInput,
    YearEndOutput,
    YearEndReopenInput,
)
from periods.models import (
    AccountReconciliation,
    ChecklistTask,
    ChecklistTemplate,
    EntityPeriod,
    FiscalYear,
    Period,
    PeriodState,
)
from periods.selectors.close import reconciliation_list
from periods.selectors.dashboard import close_dashboard_get
from periods.services import checklist, reconciliation
from periods.services import transitions as services
from periods.services.close import entity_periods_move
from sheshi.api.conditional import ConditionalWriteMixin
from sheshi.api.filters import FilterSet, organisation_id_from_query
from sheshi.api.idempotency import idempotent
from sheshi.api.viewsets import EntityScopedMixin, EntityScopedReadOnlyViewSet, OrgScopedMixin, OrgScopedReadOnlyViewSet
from sheshi.errors import FieldError, NotFound, PermissionDenied, ValidationFailed
from sheshi.tenancy.models import Organisation
from sheshi.tenancy.scoping import entities_for, entity_ids_for, is_org_admin, organisation_ids_for


class FiscalYearViewSet(ConditionalWriteMixin, OrgScopedReadOnlyViewSet):
    """Fiscal years of the caller's organisations; year-end close and reopen per entity."""

    queryset = FiscalYear.objects.select_related("organisation")
    serializer_class = FiscalYearOutput
    filterset_fields = ["organisation", "code"]

    def _entity(self, fy: FiscalYear, entity_id: int):
        entity = entities_for(self.request.user).filter(pk=entity_id, organisation_id=fy.organisation_id).first()
        if entity is None:
            raise NotFound(f"Entity {entity_id} not found.")
        return entity

    @extend_schema(request=FiscalYearGenerateInput, responses=FiscalYearOutput)
    @action(detail=False, methods=["post"])
    def generate(self, request):
        """Create FY<year> with its twelve months (and period 13), and open them for every entity.
        Organisation admins only, as in the admin; idempotent: an existing year is answered as it is."""
        data = FiscalYearGenerateInput(data=request.data)
        data.is_valid(raise_exception=True)
        org_id = data.validated_data["organisation"]
        if org_id not in organisation_ids_for(request.user):
            raise NotFound("Unknown organisation.")
        if not is_org_admin(request.user, org_id):
            raise PermissionDenied("Only an organisation admin can generate its fiscal calendar.")
        fy = services.fiscal_year_generate(organisation=Organisation.objects.get(pk=org_id),
                                           year=data.validated_data["year"],
                                           adjustment_period=data.validated_data["adjustment_period"])
        return Response(FiscalYearOutput(fy).data)

    def _year_end_response(self, entry):
        return Response(YearEndOutput({"entry_id": entry.pk, "period": entry.period.code, "source": entry.source,
                                       "line_count": entry.lines.count()}).data)

    @extend_schema(request=YearEndInput, responses=YearEndOutput)
    @action(detail=True, methods=["post"], url_path="year-end-close")
    def year_end_close(self, request, pk=None):
        fy = self.get_object()
        data = YearEndInput(data=request.data)
        data.is_valid(raise_exception=True)
        entry = year_end_close(actor=request.user, entity=self._entity(fy, data.validated_data["entity"]),
                               fiscal_year=fy)
        return self._year_end_response(entry)

    @extend_schema(request=YearEndReopenInput, responses=YearEndOutput)
    @action(detail=True, methods=["post"], url_path="year-end-reopen")
    def year_end_reopen(self, request, pk=None):
        fy = self.get_object()
        data = YearEndReopenInput(data=request.data)
        data.is_valid(raise_exception=True)
        entry = year_end_reopen(actor=request.user, entity=self._entity(fy, data.validated_data["entity"]),
                                fiscal_year=fy, reason=data.validated_data["reason"])
        return self._year_end_response(entry)


class PeriodViewSet(OrgScopedReadOnlyViewSet):
    queryset = Period.objects.select_related("fiscal_year")
    serializer_class = PeriodOutput
    filterset_fields = ["organisation", "fiscal_year", "code", "number"]


class EntityPeriodFilter(FilterSet):
    fiscal_year = django_filters.CharFilter(field_name="period__fiscal_year__code", help_text="fiscal year code")
    state = django_filters.ChoiceFilter(choices=PeriodState.choices)

    class Meta:
        model = EntityPeriod
        fields = ["entity", "period", "fiscal_year", "state"]


class EntityPeriodViewSet(ConditionalWriteMixin, EntityScopedReadOnlyViewSet):
    """Each entity's period states, and the transitions: soft-close, lock, reopen, and a batch move."""

    queryset = EntityPeriod.objects.select_related("entity", "period", "period__fiscal_year", "changed_by")
    serializer_class = EntityPeriodOutput
    filterset_class = EntityPeriodFilter

    def _fresh(self, pk: int):
        return EntityPeriodOutput(self.get_queryset().get(pk=pk)).data

    @extend_schema(request=SoftCloseInput, responses=EntityPeriodOutput)
    @action(detail=True, methods=["post"], url_path="soft-close")
    def soft_close(self, request, pk=None):
        """409 listing unposted entries and open close items unless ``force`` with a ``reason``."""
        ep = self.get_object()
        data = SoftCloseInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.entity_period_soft_close(actor=request.user, entity_period_id=ep.pk, **data.validated_data)
        return Response(self._fresh(ep.pk))

    @extend_schema(request=LockInput, responses=LockOutput)
    @action(detail=True, methods=["post"])
    def lock(self, request, pk=None):
        ep = self.get_object()
        data = LockInput(data=request.data)
        data.is_valid(raise_exception=True)
        snap = services.entity_period_lock(actor=request.user, entity_period_id=ep.pk, **data.validated_data)
        return Response(LockOutput({"entity_period": self.get_queryset().get(pk=ep.pk), "snapshot": snap}).data)

    @extend_schema(request=ReopenInput, responses=EntityPeriodOutput)
    @action(detail=True, methods=["post"])
    def reopen(self, request, pk=None):
        ep = self.get_object()
        data = ReopenInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.entity_period_reopen(actor=request.user, entity_period_id=ep.pk, **data.validated_data)
        return Response(self._fresh(ep.pk))

    @extend_schema(request=MoveInput, responses=EntityPeriodOutput(many=True))
    @action(detail=False, methods=["post"])
    def move(self, request):
        """Move many entity-periods at once, all or nothing."""
        data = MoveInput(data=request.data)
        data.is_valid(raise_exception=True)
        ids = sorted(set(data.validated_data["entity_periods"]))
        visible = set(self.get_queryset().filter(pk__in=ids).values_list("pk", flat=True))
        if missing := [i for i in ids if i not in visible]:
            raise NotFound(f"Entity period {missing[0]} not found.")
        entity_periods_move(actor=request.user, entity_period_ids=ids, to=data.validated_data["to"],
                            reason=data.validated_data["reason"],
                            override_reason=data.validated_data["override_reason"],
                            force=data.validated_data["force"])
        return Response(EntityPeriodOutput(self.get_queryset().filter(pk__in=ids).order_by("id"), many=True).data)


class ReconciliationViewSet(ConditionalWriteMixin, EntityScopedMixin, viewsets.ReadOnlyModelViewSet):
    """Account reconciliations: the GL closing balance at the period end against the statement
    balance entered, reconciling items, evidence, and whether the sign-off has lapsed."""

    queryset = AccountReconciliation.objects.select_related("account", "prepared_by", "reviewed_by").prefetch_related(
        "items__created_by", "evidence__uploaded_by")
    serializer_class = ReconciliationOutput
    entity_field = "entity_period__entity_id"
    filterset_fields = ["entity_period", "status", "account"]

    def get_queryset(self):
        return reconciliation_list(super().get_queryset())

    def _fresh(self, pk: int):
        return self.get_serializer(self.get_queryset().get(pk=pk)).data

    def _visible_entity_period(self, ep_id: int) -> None:
        if not EntityPeriod.objects.filter(pk=ep_id, entity_id__in=entity_ids_for(self.request.user)).exists():
            raise NotFound(f"Entity period {ep_id} not found.")

    @extend_schema(request=ReconciliationRequireInput, responses={201: ReconciliationOutput(many=True)})
    @idempotent
    def create(self, request, *args, **kwargs):
        """Require reconciliations of these accounts before the period locks (idempotent)."""
        data = ReconciliationRequireInput(data=request.data)
        data.is_valid(raise_exception=True)
        self._visible_entity_period(data.validated_data["entity_period"])
        recs = reconciliation.reconciliation_require(actor=request.user,
                                                     entity_period_id=data.validated_data["entity_period"],
                                                     account_ids=data.validated_data["accounts"])
        return Response(self.get_serializer(self.get_queryset().filter(pk__in=[r.pk for r in recs]).order_by("id"),
                                            many=True).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ReconciliationPrepareInput, responses=ReconciliationOutput)
    @action(detail=False, methods=["post"])
    def prepare(self, request):
        """Enter the statement balance and sign the GL closing balance (422 while a difference is
        unexplained by the reconciling items)."""
        data = ReconciliationPrepareInput(data=request.data)
        data.is_valid(raise_exception=True)
        self._visible_entity_period(data.validated_data["entity_period"])
        rec = reconciliation.reconciliation_prepare(actor=request.user, **{
            "entity_period_id": data.validated_data["entity_period"], "account_id": data.validated_data["account"],
            "statement_balance": data.validated_data["statement_balance"], "note": data.validated_data["note"]})
        return Response(self._fresh(rec.pk))

    @extend_schema(request=ReconcilingItemInput, responses={201: ReconciliationOutput})
    @action(detail=True, methods=["post"])
    @idempotent
    def items(self, request, pk=None):
        """Add a reconciling item (a signed reconciliation goes back to open: prepare it again)."""
        rec = self.get_object()
        data = ReconcilingItemInput(data=request.data)
        data.is_valid(raise_exception=True)
        reconciliation.reconciliation_item_add(actor=request.user, reconciliation_id=rec.pk, **data.validated_data)
        return Response(self._fresh(rec.pk), status=status.HTTP_201_CREATED)

    @extend_schema(request={"multipart/form-data": ReconciliationEvidenceInput}, responses={201: ReconciliationOutput})
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser])
    @idempotent
    def evidence(self, request, pk=None):
        """Attach a supporting document (stored by its SHA-256; the audit event names the hash)."""
        rec = self.get_object()
        data = ReconciliationEvidenceInput(data=request.data)
        data.is_valid(raise_exception=True)
        reconciliation.reconciliation_evidence_attach(actor=request.user, reconciliation_id=rec.pk,
                                                      upload=data.validated_data["file"])
        return Response(self._fresh(rec.pk), status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=ReconciliationOutput)
    @action(detail=True, methods=["post"])
    def review(self, request, pk=None):
        rec = self.get_object()
        reconciliation.reconciliation_review(actor=request.user, reconciliation_id=rec.pk)
        return Response(self._fresh(rec.pk))


class ChecklistTemplateViewSet(OrgScopedMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Close checklist templates of the caller's organisations (every member reads them);
    organisation admins and holders of the close permission write them (checklist_template_create)."""

    queryset = ChecklistTemplate.objects.prefetch_related("items")
    serializer_class = ChecklistTemplateOutput
    filterset_fields = ["organisation", "is_active"]

    @extend_schema(request=ChecklistTemplateCreateInput, responses={201: ChecklistTemplateOutput})
    @idempotent
    def create(self, request, *args, **kwargs):
        data = ChecklistTemplateCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        org_id = data.validated_data["organisation"]
        if org_id not in organisation_ids_for(request.user):
            raise NotFound("Unknown organisation.")
        template = checklist.checklist_template_create(
            actor=request.user, organisation=Organisation.objects.get(pk=org_id), name=data.validated_data["name"],
            items=[dict(item) for item in data.validated_data["items"]])
        return Response(ChecklistTemplateOutput(self.get_queryset().get(pk=template.pk)).data,
                        status=status.HTTP_201_CREATED)


class ChecklistTaskViewSet(ConditionalWriteMixin, EntityScopedMixin, viewsets.ReadOnlyModelViewSet):
    """Close tasks of the entity-periods the caller may view: created from a template, assigned,
    and moved through their statuses by the checklist services."""

    queryset = ChecklistTask.objects.select_related("owner", "completed_by", "signed_off_by").prefetch_related(
        "comments__author")
    serializer_class = ChecklistTaskOutput
    entity_field = "entity_period__entity_id"
    filterset_fields = ["entity_period", "status", "owner"]

    def _fresh(self, pk: int):
        return ChecklistTaskOutput(self.get_queryset().get(pk=pk)).data

    @extend_schema(request=ChecklistInstantiateInput, responses=ChecklistTaskOutput(many=True))
    @action(detail=False, methods=["post"], pagination_class=None)  # answers the tasks as a plain list
    def instantiate(self, request):
        """Copy a template's items into an entity-period as tasks (safe to repeat)."""
        data = ChecklistInstantiateInput(data=request.data)
        data.is_valid(raise_exception=True)
        ep_id = data.validated_data["entity_period"]
        if not EntityPeriod.objects.filter(pk=ep_id, entity_id__in=entity_ids_for(request.user)).exists():
            raise NotFound(f"Entity period {ep_id} not found.")
        tasks = checklist.checklist_instantiate(actor=request.user, entity_period_id=ep_id,
                                                template_id=data.validated_data["template"])
        return Response(ChecklistTaskOutput(self.get_queryset().filter(pk__in=[t.pk for t in tasks]).order_by("id"),
                                            many=True).data)

    @extend_schema(request=ChecklistAssignInput, responses=ChecklistTaskOutput)
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        task = self.get_object()  # 404 outside the caller's view
        data = ChecklistAssignInput(data=request.data)
        data.is_valid(raise_exception=True)
        owner = None
        if data.validated_data["owner"] is not None:
            owner = get_user_model().objects.filter(
                username=data.validated_data["owner"], memberships__organisation_id=task.organisation_id,
                memberships__is_active=True).first()
            if owner is None:
                raise ValidationFailed("No member of this organisation has that username.", errors=[FieldError(
                    "owner", "Not a member of the organisation.", code="not_a_member",
                    value=data.validated_data["owner"])])
        checklist.checklist_task_assign(actor=request.user, task_id=task.pk, owner=owner)
        return Response(self._fresh(task.pk))

    @extend_schema(request=ChecklistStatusInput, responses=ChecklistTaskOutput)
    @action(detail=True, methods=["post"], url_path="status")
    def set_status(self, request, pk=None):
        """Move the task (its owner, or a holder of the close permission); done records who and when."""
        task = self.get_object()
        data = ChecklistStatusInput(data=request.data)
        data.is_valid(raise_exception=True)
        checklist.checklist_task_set_status(actor=request.user, task_id=task.pk, status=data.validated_data["status"])
        return Response(self._fresh(task.pk))

    @extend_schema(request=ChecklistFromTemplatesInput, responses=ChecklistTaskOutput(many=True))
    @action(detail=False, methods=["post"], url_path="create-from-templates", pagination_class=None)
    def create_from_templates(self, request):
        """Create the entity-period's tasks from the organisation's (and entity's) active checklist
        templates. Idempotent: answers the tasks created by this call, [] when there were none to add."""
        data = ChecklistFromTemplatesInput(data=request.data)
        data.is_valid(raise_exception=True)
        ep_id = data.validated_data["entity_period"]
        if not EntityPeriod.objects.filter(pk=ep_id, entity_id__in=entity_ids_for(request.user)).exists():
            raise NotFound(f"Entity period {ep_id} not found.")
        tasks = checklist.checklist_tasks_create_from_templates(actor=request.user, entity_period_id=ep_id)
        return Response(ChecklistTaskOutput(self.get_queryset().filter(pk__in=[t.pk for t in tasks]).order_by("id"),
                                            many=True).data)

    @extend_schema(request=None, responses=ChecklistTaskOutput)
    @action(detail=True, methods=["post"], url_path="sign-off")
    def sign_off(self, request, pk=None):
        """A reviewer signs off a done task that asks for review (never the one who completed it)."""
        task = self.get_object()
        checklist.checklist_task_sign_off(actor=request.user, task_id=task.pk)
        return Response(self._fresh(task.pk))

    @extend_schema(request=ChecklistCommentInput, responses={201: ChecklistTaskOutput})
    @action(detail=True, methods=["post"])
    @idempotent
    def comments(self, request, pk=None):
        task = self.get_object()
        data = ChecklistCommentInput(data=request.data)
        data.is_valid(raise_exception=True)
        checklist.checklist_task_comment_add(actor=request.user, task_id=task.pk, body=data.validated_data["body"])
        return Response(self._fresh(task.pk), status=status.HTTP_201_CREATED)


class CloseDashboardView(APIView):
    """The close dashboard: entities × periods of a fiscal year with each cell's state and counts
    of unposted entries, unfinished checklist tasks, reconciliations not signed off or lapsed,
    and IC differences. Only entities the caller may view; ``may_close`` per entity."""

    @extend_schema(parameters=[CloseDashboardQuery], responses=CloseDashboardOutput)
    def get(self, request):
        query = CloseDashboardQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        fy = FiscalYear.objects.filter(organisation_id=organisation_id_from_query(request),
                                       code=query.validated_data["fiscal_year"]).select_related("organisation").first()
        if fy is None:
            raise NotFound("No such fiscal year in your organisations.")
        board = close_dashboard_get(user=request.user, organisation=fy.organisation, fiscal_year=fy)
        return Response(CloseDashboardOutput(board).data)
