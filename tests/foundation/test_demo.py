"""The demo group loads through the services — its books through the import path, from the files
shipped in sheshi/demo/files — is idempotent, and its books balance and drill down to source rows."""
import csv
import hashlib
import io
from datetime import date
from decimal import Decimal

import pytest
from django.core.management import call_command
from openpyxl import load_workbook

from consolidation.models import (
    AcquisitionAdjustment,
    ConsolidationGroup,
    ConsolidationRun,
    FxRate,
    GroupMember,
    RunStatus,
)
from consolidation.selectors.boardpack import board_pack_write
from ledger.imports.models import ImportBatch, ImportStatus
from ledger.imports.selectors import tb_figure_get, tb_figure_source_rows
from ledger.models import Account, Balance, JournalEntry, JournalLine
from ledger.selectors.reports import balances_verify, trial_balance
from periods.models import ChecklistTask, EntityPeriod, Period
from sheshi.demo import make_files
from sheshi.tenancy.models import Entity, Organisation
from tests.consolidation.helpers import cta_three_ways, ledger_explains_run


def test_the_shipped_files_are_exactly_what_the_generator_writes():
    currency = {code: cur for code, _n, cur, *_ in make_files.ENTITIES}
    shipped = sorted(p.name for p in make_files.FILES.glob("*"))
    expected = {make_files.file_name(e, m): make_files.render(e, currency[e], m, docs)
                for (e, m), docs in make_files.generate().items()}
    assert shipped == sorted(expected) and len(shipped) == 48
    assert all((make_files.FILES / name).read_bytes() == data for name, data in expected.items())


@pytest.mark.django_db
def test_demo_loads_once_through_the_import_path_and_balances(settings, django_capture_on_commit_callbacks):
    settings.DEBUG = True
    with django_capture_on_commit_callbacks() as on_commit:
        call_command("load_demo")
    org = Organisation.objects.get(code="DEMO")
    # The loader runs each month's consolidation itself: none is also handed to the worker on
    # commit (it used to queue all eleven, which the worker then found finished: no-op jobs).
    assert [f for f in on_commit if "run_enqueue" in f.__code__.co_names] == []
    assert set(ConsolidationRun.objects.filter(group__organisation=org).values_list("status", "attempt")) == {
        (RunStatus.SUCCEEDED, 1)}
    entities = {e.code: e for e in Entity.objects.filter(organisation=org, elimination_ledger_of__isnull=True)}
    assert set(entities) == {"HOLD", "UK", "US", "FR"}
    assert set(Entity.objects.filter(organisation=org).values_list("code", flat=True)) - set(entities) == {
        "SHESHI-ELIM"}  # the group's consolidation ledger
    assert {e.functional_currency for e in entities.values()} == {"EUR", "GBP", "USD"}

    # One posted batch per shipped file, each the file's exact bytes, from its saved source system.
    batches = list(ImportBatch.objects.filter(organisation_id=org.pk).select_related("entity", "period",
                                                                                      "source_system"))
    assert len(batches) == 48
    for b in batches:
        assert (b.status, b.kind, b.error_count, b.rows_done) == (ImportStatus.POSTED, "gl_detail", 0, b.row_count)
        assert b.file_name == make_files.file_name(b.entity.code, b.period.number)
        assert b.sha256 == hashlib.sha256((make_files.FILES / b.file_name).read_bytes()).hexdigest()
        assert b.source_system.code == ("SAGE-UK" if b.entity.code == "UK" else "SAP")
        assert b.debit_total == b.credit_total > 0

    # Every posted line of the members' books carries its batch and source row.
    entries = JournalEntry.objects.filter(organisation=org, entity__in=entities.values())
    n = entries.filter(status="posted").count()
    assert n > 390 and entries.count() == n
    assert entries.filter(import_batch_id__isnull=True).count() == 0
    lines = JournalLine.objects.filter(organisation_id=org.pk, entity__in=entities.values())
    assert lines.count() == sum(b.line_count for b in batches) == sum(b.row_count for b in batches)
    assert lines.filter(import_batch_id__isnull=True).count() == 0
    assert lines.filter(source_row__isnull=True).count() == 0

    # The UK books are on local Sage codes: local 1200 (bank) is group 1100 (cash), 1100 (debtors) is 1200.
    dec = Period.objects.get(organisation=org, code="2026-12")
    uk = entities["UK"]
    cash = Account.objects.get(organisation=org, code="1100")
    figure = tb_figure_get(entity_id=uk.pk, account=cash, period=dec)
    tb_cash = next(r for r in trial_balance(entity=uk, period=dec).rows if r.code == "1100")
    assert figure.functional_total == tb_cash.net != 0
    rows = tb_figure_source_rows(figure=figure, limit=100_000)
    assert len(rows) == figure.line_count > 24
    for row in rows[:40]:  # each line reaches the exact row of its shipped file
        text = (make_files.FILES / row.file_name).read_bytes().decode("cp1252")
        file_rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
        assert file_rows[row.source_row - 1] == row.source_cells
    assert {r.source_cells[2] for r in rows} == {"1200"}

    # Idempotent: a second load changes nothing.
    call_command("load_demo")
    assert (entries.count(), ImportBatch.objects.count()) == (n, 48)
    assert ConsolidationRun.objects.count() == 11

    assert balances_verify(organisation_id=org.pk) == []
    for entity in entities.values():
        assert trial_balance(entity=entity, period=dec).reconciles
    assert Balance.objects.filter(organisation_id=org.pk).count() > 0
    locked = set(EntityPeriod.objects.filter(organisation=org, state="locked").values_list("period__code", flat=True))
    assert locked == {"2026-01", "2026-02", "2026-03"}
    # April is ready to close: the month-end template's four tasks for each member, nowhere else.
    tasks = ChecklistTask.objects.filter(organisation_id=org.pk)
    assert set(tasks.values_list("entity_period__entity__code", "entity_period__period__code")) == {
        (code, "2026-04") for code in ("FR", "HOLD", "UK", "US")}
    assert tasks.count() == 16 and tasks.filter(required=True).count() == 12
    _assert_demo_group(org, entities)


def _assert_demo_group(org, entities):
    """DEMO is a consolidation group: HOLD -> UK 100 %, US 80 %; UK -> FR 60 % bought on 1 April;
    rates, acquisition facts, one deliberate IC mismatch, a succeeded run for every month through
    November whose consolidated TB balances and is explained by the ledgers to the cent."""
    group = ConsolidationGroup.objects.get(organisation=org, code="SHESHI")
    assert group.top_entity == entities["HOLD"]
    holdings = {(m.entity.code, m.parent.code if m.parent else None, m.ownership_pct, m.acquired_on)
                for m in GroupMember.objects.filter(group=group).select_related("entity", "parent")}
    assert holdings == {("HOLD", None, None, None), ("UK", "HOLD", Decimal(100), date(2026, 1, 1)),
                        ("US", "HOLD", Decimal(80), date(2026, 1, 1)), ("FR", "UK", Decimal(60), date(2026, 4, 1))}
    rates = FxRate.objects.filter(organisation=org)
    for ccy in ("GBP", "USD"):
        for kind in ("closing", "average"):
            dates = set(rates.filter(from_currency=ccy, to_currency="EUR", rate_type=kind)
                        .values_list("rate_date", flat=True))
            assert dates == {p.end_date for p in Period.objects.filter(organisation=org, number__lte=12)}
    assert set(rates.filter(rate_type="historical").values_list("from_currency", "rate_date")) == {
        ("GBP", date(2026, 1, 1)), ("USD", date(2026, 1, 1)), ("GBP", date(2026, 4, 1))}
    facts = {(a.kind, a.entity.code) for a in AcquisitionAdjustment.objects.filter(group=group)}
    assert facts == {("net_assets_at_acquisition", "UK"), ("net_assets_at_acquisition", "US"),
                     ("net_assets_at_acquisition", "FR"), ("pre_acquisition_pl", "FR")}

    runs = list(ConsolidationRun.objects.filter(group=group).select_related("period", "group")
                .order_by("period__start_date"))
    assert [r.period.code for r in runs] == [f"2026-{m:02d}" for m in range(1, 12)]
    assert {r.status for r in runs} == {RunStatus.SUCCEEDED}
    assert all(r.posting_error is None and r.posted_entry_ids for r in runs)
    for run in runs:
        tb = {k: Decimal(v) for k, v in run.results["consolidated_tb"].items()}
        assert sum(tb.values()) == 0 and tb
        assert set(run.results["effective_interest"]) == (
            {"HOLD", "UK", "US", "FR"} if run.period.number >= 4 else {"HOLD", "UK", "US"})
        expected, explained = ledger_explains_run(run)
        assert explained == expected
        # the run page's worksheet and the posted translation journals give each member one CTA
        sheet, journals, posted = cta_three_ways(run)
        assert sheet == journals == posted, run.period.code
        assert sheet["UK"] != 0 and sheet["US"] != 0
    sept = runs[8]
    assert sept.results["effective_interest"]["FR"] == "60.00"
    # The one deliberate mismatch: FR booked HOLD's September fee 600 short (both sides of the pair).
    assert [r.results["ic_differences"] for r in runs[:8]] == [[]] * 8
    assert {(d["entity"], d["account"], d["counterparty"], d["difference"]) for d in sept.ic_differences} == {
        ("FR", "2250", "HOLD", "600.00"), ("FR", "5200", "HOLD", "-600.00")}
    assert Decimal(sept.results["goodwill"]) > 0 and Decimal(sept.results["nci_equity"]) > 0
    _assert_board_pack(sept, runs[7])


def _assert_board_pack(run, august):
    """The September board pack compares with August (the prior period's run); 2025 has no run."""
    buf = io.BytesIO()
    board_pack_write(run, buf)
    wb = load_workbook(io.BytesIO(buf.getvalue()), data_only=True)
    cover = {row[0]: row[1] for row in wb["Cover"].iter_rows(min_row=2, values_only=True) if row and row[0]}
    assert cover["fingerprint"] == run.fingerprint
    assert cover["comparatives"] == "Prior period (2026-08)"
    bs = wb["BS"]
    assert [c.value for c in bs[1]][2:] == ["Current (EUR)", "Prior period (2026-08) (EUR)"]
    rows = {r[1]: r[2:] for r in bs.iter_rows(min_row=2, values_only=True) if r[1]}
    assert [Decimal(str(v)) for v in rows["Total assets"]] == [Decimal(run.results["totals"]["assets"]),
                                                              Decimal(august.results["totals"]["assets"])]
    assert rows["Non-controlling interests"][1] == float(august.results["nci_equity"])
    members = wb["Members"]
    consolidated = {r[0]: r[-1] for r in members.iter_rows(min_row=2, values_only=True) if r[0] in
                    run.results["consolidated_tb"]}
    assert consolidated and all(v is not None for v in consolidated.values())


@pytest.mark.django_db
def test_demo_refuses_to_run_with_debug_off(settings):
    from django.core.management.base import CommandError

    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("load_demo")
    assert not Organisation.objects.filter(code="DEMO").exists()
