"""The intercompany worklist (issue #17): a run's differences become rows with a status, an
assignee, explanations, comments and history (they were a raw JSON blob on the run); re-runs keep,
reopen or resolve them; the group's period lock refuses while one is open, naming it."""
from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction

from consolidation.errors import IcDifferenceWrongStateError, IcUnresolvedError
from consolidation.models import ConsolidationGroup, IcComment, IcDifference, IcStatus
from consolidation.services.runs import (
    consolidation_group_period_lock,
    consolidation_run_execute,
    consolidation_run_request,
    ic_difference_assign,
    ic_difference_comment,
    ic_difference_explain,
    ic_difference_resolve,
    ic_worklist_sync,
)
from ledger.inputs import EntryInput, LineInput
from ledger.models import Account, EntrySource
from ledger.services.bulk import journal_entries_post_bulk
from periods.models import EntityPeriod, GroupPeriodLock, Period
from periods.selectors.dashboard import close_dashboard_get
from sheshi.access.services.grants import role_grant
from sheshi.errors import PermissionDenied, ValidationFailed
from sheshi.tenancy.models import Entity
from tests.consolidation.helpers import CASES_DIR
from tests.factories import user_with_role
from tests.locking import lock_through

pytestmark = pytest.mark.django_db


@pytest.fixture
def group():
    call_command("load_group_pack", str(CASES_DIR / "intercompany_mismatch.json"), "--org", "ICM",
                 stdout=io.StringIO())
    return ConsolidationGroup.objects.select_related("top_entity", "organisation").get(organisation__code="ICM")


def period(group):
    return Period.objects.get(organisation=group.organisation, code="2024-12")


def run_now(group):
    # on_commit does not fire inside the test transaction: run it here, as the task does
    run = consolidation_run_request(actor=None, group=group, period=period(group))
    return consolidation_run_execute(run_id=run.pk)


def worklist(group):
    return list(IcDifference.objects.filter(group=group).order_by("pk").values_list(
        "entity__code", "account__code", "counterparty__code", "counterparty_account__code", "entity_amount",
        "counterparty_amount", "difference", "eliminated", "status"))


def pair(group, account: str) -> IcDifference:
    return IcDifference.objects.get(group=group, entity__code="P", account__code=account)


def post(group, entity: str, *lines):
    """A posted entry on ``entity`` dated on the period end: (account, amount, counterparty)."""
    org = group.organisation
    accounts = dict(Account.objects.filter(organisation=org).values_list("code", "pk"))
    entities = {e.code: e for e in Entity.objects.filter(organisation=org)}
    journal_entries_post_bulk(actor=None, entity=entities[entity], source=EntrySource.IMPORT, entries=[
        EntryInput(entry_date=period(group).end_date, period_id=period(group).pk, description="correction", lines=[
            LineInput(account_id=accounts[a], amount=Decimal(v), counterparty_id=entities[cp].pk if cp else None)
            for a, v, cp in lines])])


def test_a_run_fills_the_worklist_with_each_difference_open(group):
    """Was a raw JSON blob on the run: now one row per pair, with the run's amounts."""
    run = run_now(group)
    assert worklist(group) == [
        ("P", "1200", "S", "2200", Decimal("250.0000"), Decimal("0.0000"), Decimal("250.0000"), Decimal("0.0000"),
         "open"),
        ("P", "2200", "S", "1200", Decimal("-1100.0000"), Decimal("1200.0000"), Decimal("100.0000"),
         Decimal("1100.0000"), "open")]
    assert set(IcDifference.objects.values_list("run_id", "first_run_id")) == {(run.pk, run.pk)}


def test_explain_assign_comment_and_resolve_keep_history(group):
    run_now(group)
    controller = user_with_role(group.top_entity, "controller")
    sub_preparer = user_with_role(Entity.objects.get(organisation=group.organisation, code="S"), "preparer")
    row = pair(group, "2200")
    ic_difference_assign(actor=controller, difference_id=row.pk, assignee=sub_preparer)
    ic_difference_explain(actor=sub_preparer, difference_id=row.pk, explanation="Cash in transit, received 2 Jan")
    ic_difference_comment(actor=controller, difference_id=row.pk, text="Check the bank statement")
    ic_difference_resolve(actor=controller, difference_id=row.pk, resolution="Bank statement shows the receipt")
    row.refresh_from_db()
    assert (row.status, row.assignee, row.explanation, row.resolution) == (
        "resolved", sub_preparer, "Cash in transit, received 2 Jan", "Bank statement shows the receipt")
    assert list(row.history.order_by("history_id").values_list("status", "history_change_reason")) == [
        ("open", f"found by run {row.first_run_id}"), ("open", f"assigned to {sub_preparer.username}"),
        ("explained", "explained"), ("resolved", "resolved")]
    assert list(IcComment.objects.values_list("author", "text")) == [(controller.pk, "Check the bank statement")]
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM audit_event WHERE object_type = 'consolidation.icdifference' "
                    "AND object_id = %s", [str(row.pk)])
        assert cur.fetchone()[0] == 4  # found by the run; assigned, explained, resolved
    with pytest.raises(IcDifferenceWrongStateError):
        ic_difference_resolve(actor=controller, difference_id=row.pk, resolution="again")


def test_an_explanation_is_required_and_nothing_changes_without_one(group):
    run_now(group)
    row = pair(group, "1200")
    with pytest.raises(ValidationFailed) as exc:
        ic_difference_explain(actor=None, difference_id=row.pk, explanation="   ")
    assert [(e.field, e.code) for e in exc.value.errors] == [("explanation", "required")]
    with pytest.raises(ValidationFailed):
        ic_difference_resolve(actor=None, difference_id=row.pk, resolution="")
    row.refresh_from_db()
    assert (row.status, row.explanation, row.history.count()) == ("open", "", 1)


def test_the_database_refuses_an_explained_row_without_text(group):
    run_now(group)
    with pytest.raises(IntegrityError, match="ic_difference_status_has_text"), transaction.atomic():
        IcDifference.objects.filter(pk=pair(group, "1200").pk).update(status=IcStatus.EXPLAINED)


def test_a_user_without_rights_on_the_group_or_the_pair_is_refused(group):
    run_now(group)
    row = pair(group, "1200")
    viewer = user_with_role(group.top_entity, "viewer")
    for call in (lambda: ic_difference_explain(actor=viewer, difference_id=row.pk, explanation="x"),
                 lambda: ic_difference_resolve(actor=viewer, difference_id=row.pk, resolution="x"),
                 lambda: ic_difference_assign(actor=viewer, difference_id=row.pk, assignee=viewer),
                 lambda: ic_difference_comment(actor=viewer, difference_id=row.pk, text="x")):
        with pytest.raises(PermissionDenied):
            call()
    with pytest.raises(ValidationFailed) as exc:
        ic_difference_assign(actor=None, difference_id=row.pk, assignee=viewer)
    assert exc.value.errors[0].code == "assignee_no_rights"
    row.refresh_from_db()
    assert (row.status, row.assignee_id, row.comments.count()) == ("open", None, 0)


def test_a_rerun_keeps_an_unchanged_explanation_reopens_a_moved_pair_and_resolves_an_agreed_one(group):
    run_now(group)
    ic_difference_explain(actor=None, difference_id=pair(group, "1200").pk, explanation="S has not booked it")
    ic_difference_explain(actor=None, difference_id=pair(group, "2200").pk, explanation="Cash in transit")
    post(group, "S", ("5000", "250", None), ("2200", "-250", "P"))  # S books P's invoice: 1200/2200 agree
    second = run_now(group)
    assert [(r[1], r[8]) for r in worklist(group)] == [("1200", "resolved"), ("2200", "explained")]
    assert pair(group, "1200").resolution == f"Agreed in run {second.pk}: no difference any more."
    post(group, "S", ("1200", "50", "P"), ("1000", "-50", None))  # the 2200/1200 difference moves to 150
    run_now(group)
    moved = pair(group, "2200")
    assert (moved.status, moved.difference, moved.explanation) == ("open", Decimal("150.0000"), "Cash in transit")
    assert moved.history.first().history_change_reason.endswith("difference now 150.00, was 100.00; reopened")


def lock_members(group):
    for code in ("P", "S"):
        ep = EntityPeriod.objects.get(entity__organisation=group.organisation, entity__code=code,
                                      period__code="2024-12")
        lock_through(actor=None, entity_period_id=ep.pk)


def test_the_group_lock_is_refused_while_a_difference_is_open_and_says_which(group):
    run_now(group)
    lock_members(group)
    controller = user_with_role(group.top_entity, "controller")
    role_grant(actor=None, user=controller, entity=Entity.objects.get(organisation=group.organisation, code="S"),
               role="controller")  # a group lock needs close_periods on every member
    ic_difference_explain(actor=controller, difference_id=pair(group, "2200").pk, explanation="Cash in transit")
    with pytest.raises(IcUnresolvedError) as exc:
        consolidation_group_period_lock(actor=controller, group=group, period=period(group))
    assert "P 1200 / S 2200 (250.0000)" in exc.value.detail and "2200 / S 1200" not in exc.value.detail
    assert [e.code for e in exc.value.errors] == ["ic_difference_open"]
    assert GroupPeriodLock.objects.count() == 0
    ic_difference_resolve(actor=controller, difference_id=pair(group, "1200").pk, resolution="Written off")
    lock = consolidation_group_period_lock(actor=controller, group=group, period=period(group))
    assert (lock.group_key, sorted(lock.entity_ids)) == (
        "GROUP", sorted(Entity.objects.filter(organisation=group.organisation, code__in=["P", "S"])
                        .values_list("pk", flat=True)))


def test_the_group_lock_needs_close_on_the_top_entity(group):
    run_now(group)
    with pytest.raises(PermissionDenied):
        consolidation_group_period_lock(actor=user_with_role(group.top_entity, "viewer"), group=group,
                                        period=period(group))
    assert GroupPeriodLock.objects.count() == 0


def test_the_close_dashboard_counts_the_worklist_rows_not_yet_resolved(group):
    """The dashboard's intercompany column reads the worklist people work (issue #16: it read the last
    run's raw figures, so a resolved difference still showed as open)."""
    run_now(group)
    controller = user_with_role(group.top_entity, "controller")

    def ic_cells():
        board = close_dashboard_get(user=controller, organisation=group.organisation,
                                    fiscal_year=period(group).fiscal_year)
        return {row.entity.code: [c.ic_differences for c in row.cells if c and c.entity_period.period == period(group)]
                for row in board.rows}

    assert ic_cells()["P"] == [2]
    ic_difference_explain(actor=controller, difference_id=pair(group, "2200").pk, explanation="Cash in transit")
    assert ic_cells()["P"] == [2]  # explained is not settled
    ic_difference_resolve(actor=controller, difference_id=pair(group, "2200").pk, resolution="Received 2 Jan")
    assert ic_cells()["P"] == [1]


def test_a_difference_whose_rounded_sides_miss_it_by_a_cent_is_stored_not_refused(group):
    """The run rounds each figure from the exact ones: -214.9649 and 214.9551 give -214.96, 214.96
    and a difference of -0.01. The worklist row refused that (ic_difference_is_the_sum) and failed
    the whole run; now the counterparty's side takes the cent and the difference stays as reported."""
    run = run_now(group)
    run.results["ic_differences"] = [{
        "entity": "P", "account": "1200", "counterparty": "S", "counterparty_account": "2200",
        "entity_amount": "-214.96", "counterparty_amount": "214.96", "difference": "-0.01", "eliminated": "214.96"}]
    with transaction.atomic():
        ic_worklist_sync(run=run)
    row = pair(group, "1200")
    assert (row.entity_amount, row.counterparty_amount, row.difference, row.eliminated) == (
        Decimal("-214.9600"), Decimal("214.9500"), Decimal("-0.0100"), Decimal("214.9600"))
