"""The demo group loads through the services — its books through the import path, from the files
shipped in sheshi/demo/files — is idempotent, and its books balance and drill down to source rows."""
import csv
import hashlib
import io

import pytest
from django.core.management import call_command

from ledger.imports.models import ImportBatch, ImportStatus
from ledger.imports.selectors import tb_figure_get, tb_figure_source_rows
from ledger.models import Account, Balance, JournalEntry, JournalLine
from ledger.reports import balances_verify, trial_balance
from periods.models import EntityPeriod, Period
from sheshi.demo import make_files
from sheshi.tenancy.models import Entity, Organisation


def test_the_shipped_files_are_exactly_what_the_generator_writes():
    currency = {code: cur for code, _n, cur, *_ in make_files.ENTITIES}
    shipped = sorted(p.name for p in make_files.FILES.glob("*"))
    expected = {make_files.file_name(e, m): make_files.render(e, currency[e], m, docs)
                for (e, m), docs in make_files.generate().items()}
    assert shipped == sorted(expected) and len(shipped) == 48
    assert all((make_files.FILES / name).read_bytes() == data for name, data in expected.items())


@pytest.mark.django_db
def test_demo_loads_once_through_the_import_path_and_balances(settings):
    settings.DEBUG = True
    call_command("load_demo")
    org = Organisation.objects.get(code="DEMO")
    entities = {e.code: e for e in Entity.objects.filter(organisation=org)}
    assert set(entities) == {"HOLD", "UK", "US", "FR"}
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

    # Every posted line of the demo carries its batch and source row.
    entries = JournalEntry.objects.filter(organisation=org)
    n = entries.filter(status="posted").count()
    assert n > 400 and entries.count() == n
    assert entries.filter(import_batch_id__isnull=True).count() == 0
    lines = JournalLine.objects.filter(organisation_id=org.pk)
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
    assert (JournalEntry.objects.filter(organisation=org).count(), ImportBatch.objects.count()) == (n, 48)

    assert balances_verify(organisation_id=org.pk) == []
    for entity in entities.values():
        assert trial_balance(entity=entity, period=dec).reconciles
    assert Balance.objects.filter(organisation_id=org.pk).count() > 0
    locked = set(EntityPeriod.objects.filter(organisation=org, state="locked").values_list("period__code", flat=True))
    assert locked == {"2026-01", "2026-02", "2026-03"}


@pytest.mark.django_db
def test_demo_refuses_to_run_with_debug_off(settings):
    from django.core.management.base import CommandError

    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("load_demo")
    assert not Organisation.objects.filter(code="DEMO").exists()
