"""Admin pages: scoped to the caller's entities; workflow actions go through the services."""
import pytest
from django.contrib.auth.models import Permission

from ledger.models import EntryStatus
from ledger.services import journal_entry_create, journal_entry_create_and_post
from tests.factories import user_with_role

pytestmark = pytest.mark.django_db


def staff(world, role):
    user = user_with_role(world.entity, role)
    user.is_staff = True
    user.save()
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="ledger"))
    return user


def test_trial_balance_page_shows_reconciled_figures(client, world):
    journal_entry_create_and_post(actor=None, entity=world.entity, entry=world.sale("42"))
    client.force_login(staff(world, "viewer"))
    page = client.get(f"/admin/ledger/balance/trial-balance/?entity={world.entity.code}&period=2026-03")
    assert page.status_code == 200
    html = page.content.decode()
    assert "reconciles: debits = credits = 42.0000" in html
    from audit.models import AuditEvent

    assert AuditEvent.objects.filter(organisation_id=world.org.pk, action="report.read",
                                     object_id=f"{world.entity.code}/2026-03").count() == 1


def test_trial_balance_page_refuses_other_entities(client, world):
    client.force_login(staff(world, "viewer"))
    assert client.get(f"/admin/ledger/balance/trial-balance/?entity={world.other.code}&period=2026-03"
                      ).status_code == 403


def test_journal_list_is_scoped_and_post_action_uses_the_service(client, world):
    mine = journal_entry_create(actor=None, entity=world.entity, entry=world.sale("7")).entry
    theirs = journal_entry_create(actor=None, entity=world.other, entry=world.sale("8")).entry
    client.force_login(staff(world, "controller"))
    listing = client.get("/admin/ledger/journalentry/").content.decode()
    assert f">{mine.pk}<" in listing and f">{theirs.pk}<" not in listing
    client.post("/admin/ledger/journalentry/", {"action": "post", "_selected_action": [mine.pk, theirs.pk]})
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert (mine.status, theirs.status) == (EntryStatus.POSTED, EntryStatus.DRAFT)
