"""/api/v1/ — every app registers its routes on one router here."""
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView
from rest_framework.permissions import AllowAny
from rest_framework.routers import DefaultRouter

from audit.api import AuditEventListView
from audit.evidence.api import AuditEvidenceView
from consolidation.api.views import (
    AcquisitionFactViewSet,
    ConsolidationGroupViewSet,
    ConsolidationRunViewSet,
    FxRateViewSet,
    HoldingViewSet,
)
from consolidation.api.worklist import IcDifferenceViewSet
from ledger.api.recurring import JournalRecurrenceViewSet
from ledger.api.templates import JournalTemplateViewSet
from ledger.api.views import (
    AccountViewSet,
    BalanceSheetView,
    GeneralLedgerView,
    IncomeStatementView,
    JournalEntryViewSet,
    TrialBalanceView,
)
from ledger.imports.api import ImportBatchViewSet, SourceSystemViewSet, TrialBalanceLinesView
from periods.api.views import (
    ChecklistTaskViewSet,
    ChecklistTemplateViewSet,
    CloseDashboardView,
    EntityPeriodViewSet,
    FiscalYearViewSet,
    PeriodViewSet,
    ReconciliationViewSet,
)
from sheshi.access.api.views import ApiTokenViewSet
from sheshi.security.api.views import EntityBankDetailsViewSet
from sheshi.tenancy.api.views import EntityViewSet, OrganisationViewSet

router = DefaultRouter()
router.register("organisations", OrganisationViewSet, basename="organisation")
router.register("entities", EntityViewSet, basename="entity")
router.register("fiscal-years", FiscalYearViewSet, basename="fiscal-year")
router.register("periods", PeriodViewSet, basename="period")
router.register("entity-periods", EntityPeriodViewSet, basename="entity-period")
router.register("reconciliations", ReconciliationViewSet, basename="reconciliation")
router.register("checklist-templates", ChecklistTemplateViewSet, basename="checklist-template")
router.register("checklist-tasks", ChecklistTaskViewSet, basename="checklist-task")
router.register("entity-bank-details", EntityBankDetailsViewSet, basename="entity-bank-details")
router.register("accounts", AccountViewSet, basename="account")
router.register("journal-entries", JournalEntryViewSet, basename="journal-entry")
router.register("journal-templates", JournalTemplateViewSet, basename="journal-template")
router.register("journal-recurrences", JournalRecurrenceViewSet, basename="journal-recurrence")
router.register("consolidation-runs", ConsolidationRunViewSet, basename="consolidation-run")
router.register("consolidation-groups", ConsolidationGroupViewSet, basename="consolidation-group")
router.register("holdings", HoldingViewSet, basename="holding")
router.register("acquisition-facts", AcquisitionFactViewSet, basename="acquisition-fact")
router.register("fx-rates", FxRateViewSet, basename="fx-rate")
router.register("ic-differences", IcDifferenceViewSet, basename="ic-difference")
router.register("import-batches", ImportBatchViewSet, basename="import-batch")
router.register("source-systems", SourceSystemViewSet, basename="source-system")
router.register("tokens", ApiTokenViewSet, basename="api-token")

urlpatterns = [
    # The API's description is public (it holds no data); every data endpoint needs a login.
    path("schema/", SpectacularAPIView.as_view(permission_classes=[AllowAny]), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="schema", permission_classes=[AllowAny]),
         name="api-docs"),  # no inline JS (CSP)
    path("redoc/", SpectacularRedocView.as_view(url_name="schema", permission_classes=[AllowAny]),
         name="api-redoc"),
    path("reports/trial-balance/", TrialBalanceView.as_view(), name="report-trial-balance"),
    path("reports/trial-balance/lines/", TrialBalanceLinesView.as_view(), name="report-trial-balance-lines"),
    path("reports/balance-sheet/", BalanceSheetView.as_view(), name="report-balance-sheet"),
    path("reports/income-statement/", IncomeStatementView.as_view(), name="report-income-statement"),
    path("reports/general-ledger/", GeneralLedgerView.as_view(), name="report-general-ledger"),
    path("close/dashboard/", CloseDashboardView.as_view(), name="close-dashboard"),
    path("audit/evidence/", AuditEvidenceView.as_view(), name="audit-evidence"),
    path("audit/events/", AuditEventListView.as_view(), name="audit-events"),
    path("", include(router.urls)),
]
