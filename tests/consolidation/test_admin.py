"""Consolidation admin (issue #20): groups, holdings, rates and adjustments are saved through the
services; a refusal is an error on the form and nothing is written; history is never reverted."""
from __future__ import annotations

import io
import re
from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management import call_command

from consolidation.models import AcquisitionAdjustment, ConsolidationGroup, FxRate, GroupMember
from periods.models import EntityPeriod
from tests.consolidation.helpers import CASES_DIR
from tests.factories import EntityFactory, member, user_with_role
from tests.locking import lock_through

pytestmark = pytest.mark.django_db


@pytest.fixture
def group():
    call_command("load_group_pack", str(CASES_DIR / "foreign_subsidiary_cta.json"), "--org", "FX", stdout=io.StringIO())
    return ConsolidationGroup.objects.select_related("organisation", "top_entity").get(organisation__code="FX")


def staff(user):
    user.is_staff = True
    user.save()
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="consolidation"))
    return user


def controller(group):
    return staff(user_with_role(group.top_entity, "controller"))


def superuser(group):
    user = get_user_model().objects.create_superuser("root", "root@example.test", "x")
    member(user, group.organisation, org_admin=True)
    return user


def page_data(page) -> dict:
    """The POST a browser would send from this change page as it is."""
    data = {}
    formsets = [ifs.formset for ifs in page.context["inline_admin_formsets"]]
    for form in [page.context["adminform"].form, *(fs.management_form for fs in formsets),
                 *(f for fs in formsets for f in fs.forms)]:
        for name in form.fields:
            value = form[name].value()
            if value not in (None, ""):
                data[form.add_prefix(name)] = value
    return data


def add_prefix(page) -> str:
    from consolidation.admin import GroupMemberAddInline

    return next(ifs.formset.prefix for ifs in page.context["inline_admin_formsets"]
                if isinstance(ifs.opts, GroupMemberAddInline))


def with_new_holding(page, **row) -> dict:
    data, prefix = page_data(page), add_prefix(page)
    data[f"{prefix}-TOTAL_FORMS"] = 1
    data.update({f"{prefix}-0-{k}": v for k, v in row.items()})
    return data


def holdings(group):
    return list(GroupMember.objects.filter(group=group).order_by("pk").values_list(
        "organisation_id", "entity__code", "parent__code", "ownership_pct", "acquired_on"))


@pytest.mark.parametrize("who", [controller, superuser], ids=["controller", "superuser"])
def test_saving_a_group_with_its_members_adds_the_new_holding_through_the_service(client, group, who):
    """Was a 500 (as superuser an IntegrityError: the inline saved a holding without organisation)."""
    newco = EntityFactory(organisation=group.organisation, code="NEWCO")
    client.force_login(who(group))
    url = f"/admin/consolidation/consolidationgroup/{group.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    before = holdings(group)
    response = client.post(url, with_new_holding(page, entity=newco.pk, parent=group.top_entity.pk,
                                                 ownership_pct="60", acquired_on="2025-01-31", method="full"))
    assert response.status_code == 302, response.content.decode()[:2000]
    assert holdings(group) == [*before, (group.organisation_id, "NEWCO", "P", Decimal("60.0000"),
                                         date(2025, 1, 31))]


def test_saving_a_group_unchanged_writes_nothing(client, group):
    client.force_login(controller(group))
    url = f"/admin/consolidation/consolidationgroup/{group.pk}/change/"
    before = (holdings(group), group.history.count())
    assert client.post(url, page_data(client.get(url))).status_code == 302
    assert (holdings(group), group.history.count()) == before


def test_a_new_group_is_created_through_the_service_with_its_top_entity_as_member(client, group):
    client.force_login(controller(group))
    page = client.get("/admin/consolidation/consolidationgroup/add/")
    data = {**with_new_holding(page, entity=group.members.get(entity__code="S").entity_id,
                               parent=group.top_entity.pk, ownership_pct="80", acquired_on="2023-12-31",
                               method="full"),
            "code": "G2", "name": "Second view", "top_entity": group.top_entity.pk}
    response = client.post("/admin/consolidation/consolidationgroup/add/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    new = ConsolidationGroup.objects.get(code="G2")
    assert new.organisation_id == group.organisation_id
    assert holdings(new) == [(group.organisation_id, "P", None, None, None),
                             (group.organisation_id, "S", "P", Decimal("80.0000"), date(2023, 12, 31))]


def test_an_overlapping_holding_is_an_error_on_the_form_and_nothing_is_saved(client, group):
    client.force_login(controller(group))
    url = f"/admin/consolidation/consolidationgroup/{group.pk}/change/"
    before = holdings(group)
    sub = group.members.get(entity__code="S").entity_id
    page = client.post(url, with_new_holding(client.get(url), entity=sub, parent=group.top_entity.pk,
                                             ownership_pct="90", acquired_on="2024-06-30", method="full"))
    assert page.status_code == 200
    assert "New holding 1 (S): The entity already has a holding in this group then." in page.content.decode()
    assert holdings(group) == before


def test_a_colleague_without_close_on_the_top_entity_is_refused_on_the_form(client, group):
    newco = EntityFactory(organisation=group.organisation, code="NEWCO")
    sub = group.members.get(entity__code="S").entity
    client.force_login(staff(user_with_role(sub, "controller")))
    url = f"/admin/consolidation/consolidationgroup/{group.pk}/change/"
    before = holdings(group)
    page = client.post(url, with_new_holding(client.get(url), entity=newco.pk, parent=sub.pk, ownership_pct="51",
                                             acquired_on="2025-01-31", method="full"))
    assert page.status_code == 200
    assert (f"New holding 1 (NEWCO): You are not allowed to close periods for entity {group.top_entity.code}."
            in page.content.decode())
    assert holdings(group) == before


def rate_form(group, **kw):
    return {"organisation": group.organisation_id, "from_currency": "USD", "to_currency": "EUR",
            "rate_type": "historical", "rate_date": "2024-06-15", "rate": "0.93", "source": "treasury", **kw}


def test_an_fx_rate_is_entered_through_the_service(client, group):
    client.force_login(controller(group))
    response = client.post("/admin/consolidation/fxrate/add/", rate_form(group))
    assert response.status_code == 302
    assert FxRate.objects.filter(rate_type="historical", rate_date=date(2024, 6, 15),
                                 rate=Decimal("0.93"), source="treasury").count() == 1


def test_an_fx_rate_frozen_by_an_entity_lock_is_an_error_on_the_form(client, group):
    """consolidation_fx_rate_frozen: the rate would translate a locked month of the USD subsidiary."""
    sub = group.members.get(entity__code="S").entity_id
    lock_through(actor=None, entity_period_id=EntityPeriod.objects.get(entity_id=sub, period__code="2024-06").pk)
    before = list(FxRate.objects.order_by("pk").values_list("pk", "rate"))
    client.force_login(controller(group))
    page = client.post("/admin/consolidation/fxrate/add/", rate_form(group))
    assert page.status_code == 200
    assert "The rate belongs to a locked period and cannot change." in page.content.decode()
    assert list(FxRate.objects.order_by("pk").values_list("pk", "rate")) == before


def test_fx_rate_needs_the_close_permission_shown_on_the_form(client, group):
    sub = group.members.get(entity__code="S").entity
    client.force_login(staff(user_with_role(sub, "viewer")))
    page = client.post("/admin/consolidation/fxrate/add/", rate_form(group))
    assert page.status_code == 200
    assert "Entering FX rates needs the close permission" in page.content.decode()
    assert not FxRate.objects.filter(rate_date=date(2024, 6, 15)).exists()


def test_rates_are_read_only_and_history_is_never_reverted(client, group):
    rate = FxRate.objects.get(rate_type="closing")
    client.force_login(superuser(group))
    page = client.get(f"/admin/consolidation/fxrate/{rate.pk}/change/").content.decode()
    assert 'name="_save"' not in page
    assert client.post(f"/admin/consolidation/fxrate/{rate.pk}/change/", rate_form(group)).status_code == 403
    version = rate.history.first().history_id
    history = client.get(f"/admin/consolidation/fxrate/{rate.pk}/history/{version}/").content.decode()
    assert "Revert" not in history
    assert client.post(f"/admin/consolidation/fxrate/{rate.pk}/history/{version}/",
                       rate_form(group, rate="9")).status_code == 403
    rate.refresh_from_db()
    assert rate.rate == Decimal("0.95")


def test_an_adjustment_and_its_lines_are_recorded_by_one_service_call(client, group):
    newco = EntityFactory(organisation=group.organisation, code="NEWCO2")
    from ledger.models import Account

    equity = Account.objects.get(organisation=group.organisation, code="3000")
    client.force_login(controller(group))
    response = client.post("/admin/consolidation/acquisitionadjustment/add/", {
        "group": group.pk, "kind": "net_assets_at_acquisition", "entity": newco.pk,
        "lines-TOTAL_FORMS": 2, "lines-INITIAL_FORMS": 0, "lines-MIN_NUM_FORMS": 0, "lines-MAX_NUM_FORMS": 1000,
        "lines-0-account": equity.pk, "lines-0-amount": "-500"})
    assert response.status_code == 302, response.content.decode()[:2000]
    adj = AcquisitionAdjustment.objects.get(entity=newco)
    assert list(adj.lines.values_list("account__code", "amount")) == [("3000", Decimal("-500.0000"))]


def test_runs_are_read_only_and_run_again_still_queues_through_the_service(client, group,
                                                                           django_capture_on_commit_callbacks):
    from consolidation.models import ConsolidationRun
    from consolidation.services.runs import consolidation_run_request
    from periods.models import Period

    period = Period.objects.get(organisation=group.organisation, code="2024-12")
    with django_capture_on_commit_callbacks(execute=False):
        run = consolidation_run_request(actor=None, group=group, period=period)
    client.force_login(controller(group))
    page = client.get(f"/admin/consolidation/consolidationrun/{run.pk}/change/").content.decode()
    assert 'name="_save"' not in page and 'name="organisation"' not in page
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post("/admin/consolidation/consolidationrun/",
                               {"action": "run_again", "_selected_action": [run.pk]}, follow=True)
    assert [str(m) for m in response.context["messages"]] == [
        f"Queued run {run.pk + 1} for {group} {period}."]
    assert ConsolidationRun.objects.count() == 2


def upload(client, group, name, content):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post("/admin/consolidation/fxrate/upload/",
                       {"organisation": group.organisation_id, "file": SimpleUploadedFile(name, content)})


def test_a_rate_file_is_uploaded_through_the_import_service(client, group):
    client.force_login(controller(group))
    assert "Upload a rate file" in client.get("/admin/consolidation/fxrate/").content.decode()
    response = upload(client, group, "rates.csv", b"from,to,type,rate,date\nGBP,EUR,closing,1.17,2025-01-31\n"
                                                  b"GBP,EUR,average,1.16,2025-01-31\n")
    assert response.status_code == 302
    assert list(FxRate.objects.filter(from_currency="GBP").order_by("rate_type").values_list(
        "rate_type", "rate", "source")) == [("average", Decimal("1.16"), "upload:rates.csv"),
                                            ("closing", Decimal("1.17"), "upload:rates.csv")]


def test_a_bad_rate_file_lists_every_problem_on_the_form_and_loads_nothing(client, group):
    client.force_login(controller(group))
    before = FxRate.objects.count()
    page = upload(client, group, "rates.csv", b"from,to,type,rate,date\nGBP,EUR,closing,1.17,2025-01-31\n"
                                              b"GBP,EUR,spot,0,2025-02-30\nUSD,EUR,closing,0.95,2024-12-31\n")
    assert page.status_code == 200
    rows = re.findall(r"<tr><td>(\d+)</td><td>(\w+)</td><td>([^<]*)</td><td>([^<]+)</td></tr>", page.content.decode())
    assert [(r[0], r[1], r[2]) for r in rows] == [("3", "type", "spot"), ("3", "rate", "0"),
                                                  ("3", "date", "2025-02-30")]
    assert FxRate.objects.count() == before
    page = upload(client, group, "rates.csv", b"from,to,type,rate,date\nUSD,EUR,closing,0.95,2024-12-31\n")
    assert "already holds this rate" in page.content.decode() and FxRate.objects.count() == before


def test_a_rate_file_needs_the_close_permission_shown_on_the_page(client, group):
    sub = group.members.get(entity__code="S").entity
    client.force_login(staff(user_with_role(sub, "viewer")))
    page = upload(client, group, "rates.csv", b"from,to,type,rate,date\nGBP,EUR,closing,1.17,2025-01-31\n")
    assert page.status_code == 200 and "Loading FX rates needs the close permission" in page.content.decode()
    assert not FxRate.objects.filter(from_currency="GBP").exists()


def test_a_rate_file_that_is_not_xlsx_is_an_error_not_a_500(client, group):
    client.force_login(controller(group))
    page = upload(client, group, "rates.xlsx", b"garbage")
    assert page.status_code == 200 and "Not an XLSX workbook." in page.content.decode()
