"""Sensitive fields are encrypted at rest, masked on output, rotatable, and fail loudly without keys."""
from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from sheshi.db.context import db_context
from sheshi.errors import PermissionDenied, ValidationFailed
from sheshi.security.crypto import FieldKeyError, decrypt, encrypt, mask
from sheshi.security.models import EntityBankDetails
from sheshi.security.services import entity_bank_details_set
from tests.factories import EntityFactory, OrganisationFactory, user_with_role

pytestmark = pytest.mark.django_db

IBAN = "DE89370400440532013000"
TAX_ID = "DE123456789"
KEY_OLD = "dGVzdC1vbmx5LWZpZWxkLWtleS1ub3Qtc2VjcmV0LTA="  # the test settings' key
KEY_NEW = Fernet.generate_key().decode()


def _raw(pk: int) -> tuple[str, str]:
    with connection.cursor() as cur:
        cur.execute("SELECT iban, tax_id FROM security_entitybankdetails WHERE id = %s", [pk])
        return cur.fetchone()


def test_raw_columns_never_hold_the_plaintext():
    details = entity_bank_details_set(actor=None, entity=EntityFactory(), iban="de89 3704 0044 0532 0130 00",
                                      tax_id=TAX_ID)
    raw_iban, raw_tax = _raw(details.pk)
    assert IBAN not in raw_iban and "3000" not in raw_iban and TAX_ID not in raw_tax
    assert raw_iban.startswith("gAAAAA") and raw_tax.startswith("gAAAAA")
    fresh = EntityBankDetails.objects.get(pk=details.pk)
    assert (fresh.iban, fresh.tax_id) == (IBAN, TAX_ID)  # normalised, then round-tripped


def test_same_value_encrypts_differently_each_time():
    assert encrypt(IBAN) != encrypt(IBAN)
    assert decrypt(encrypt(IBAN)) == IBAN


def test_encrypted_columns_refuse_lookups_that_could_never_match():
    with pytest.raises(FieldKeyError, match="cannot be searched"):
        EntityBankDetails.objects.filter(iban=IBAN).count()
    assert EntityBankDetails.objects.filter(tax_id__isnull=True).count() == 0


def test_output_is_masked_in_api_and_str(client):
    entity = EntityFactory()
    details = entity_bank_details_set(actor=None, entity=entity, iban=IBAN, tax_id=TAX_ID)
    client.force_login(user_with_role(entity, "viewer"))
    body = client.get(f"/api/v1/entity-bank-details/{details.pk}/").json()
    assert body["iban"] == "•" * 18 + "3000"
    assert body["tax_id"] == "•" * 8 + "789"
    assert IBAN not in str(details) and str(details).endswith("3000")
    assert mask("") == "" and mask("123") == "•••"


def test_admin_list_shows_masked_values_only(client, django_user_model):
    entity = EntityFactory()
    entity_bank_details_set(actor=None, entity=entity, iban=IBAN, tax_id=TAX_ID)
    admin = django_user_model.objects.create_superuser("root", "root@example.test", "x" * 16)
    client.force_login(admin)
    page = client.get("/admin/security/entitybankdetails/").content.decode()
    assert "3000" in page and IBAN not in page and TAX_ID not in page


def test_invalid_iban_is_refused_with_a_field_error_and_nothing_stored():
    with pytest.raises(ValidationFailed) as exc:
        entity_bank_details_set(actor=None, entity=EntityFactory(), iban="DE89370400440532013001", tax_id="x")
    assert [(e.field, e.code) for e in exc.value.errors] == [("iban", "invalid_iban"), ("tax_id", "invalid_tax_id")]
    assert EntityBankDetails.objects.count() == 0


def test_only_the_organisation_admin_changes_bank_details():
    entity = EntityFactory()
    controller = user_with_role(entity, "controller")
    with pytest.raises(PermissionDenied):
        entity_bank_details_set(actor=controller, entity=entity, iban=IBAN)
    assert EntityBankDetails.objects.count() == 0
    entity_bank_details_set(actor=user_with_role(entity, "org_admin"), entity=entity, iban=IBAN)
    assert EntityBankDetails.objects.count() == 1


def test_missing_key_fails_loudly_on_write_and_read(settings):
    details = entity_bank_details_set(actor=None, entity=EntityFactory(), iban=IBAN)
    settings.SHESHI_FIELD_KEYS = []
    with pytest.raises(FieldKeyError, match="SHESHI_FIELD_KEYS is not set"):
        EntityBankDetails.objects.get(pk=details.pk)
    with pytest.raises(FieldKeyError, match="SHESHI_FIELD_KEYS is not set"):
        entity_bank_details_set(actor=None, entity=EntityFactory(), iban=IBAN)
    settings.SHESHI_FIELD_KEYS = ["not-a-key"]
    with pytest.raises(FieldKeyError, match="malformed"):
        encrypt("x")


def test_a_dropped_key_is_reported_not_garbage(settings):
    details = entity_bank_details_set(actor=None, entity=EntityFactory(), iban=IBAN)
    settings.SHESHI_FIELD_KEYS = [KEY_NEW]
    with pytest.raises(FieldKeyError, match="no configured key matches"):
        EntityBankDetails.objects.get(pk=details.pk)


def test_rotation_re_encrypts_every_row_under_the_new_key_in_batches(settings, capsys):
    org = OrganisationFactory()
    rows = [entity_bank_details_set(actor=None, entity=EntityFactory(organisation=org), iban=IBAN,
                                    tax_id=TAX_ID if i % 2 else "") for i in range(5)]
    before = {d.pk: _raw(d.pk) for d in rows}
    settings.SHESHI_FIELD_KEYS = [KEY_NEW, KEY_OLD]
    call_command("rotate_field_keys", "--batch", "2")
    assert "security_entitybankdetails: 5 rows examined, 10 values re-encrypted" in capsys.readouterr().out
    new_only = Fernet(KEY_NEW.encode())
    for d in rows:
        raw_iban, raw_tax = _raw(d.pk)
        assert raw_iban != before[d.pk][0]
        assert new_only.decrypt(raw_iban.encode()).decode() == IBAN
        assert new_only.decrypt(raw_tax.encode()).decode() == (TAX_ID if rows.index(d) % 2 else "")
    settings.SHESHI_FIELD_KEYS = [KEY_NEW]  # the old key can now be dropped
    assert sorted(EntityBankDetails.objects.values_list("iban", flat=True)) == [IBAN] * 5
    call_command("rotate_field_keys")
    assert "5 rows examined, 0 values re-encrypted" in capsys.readouterr().out  # idempotent


def test_generate_prints_a_usable_key(capsys):
    call_command("rotate_field_keys", "--generate")
    Fernet(capsys.readouterr().out.strip().encode())


def test_row_level_security_hides_other_organisations_bank_details_from_an_unfiltered_query():
    a, b = EntityFactory(), EntityFactory()
    entity_bank_details_set(actor=None, entity=a, iban=IBAN)
    entity_bank_details_set(actor=None, entity=b, iban=IBAN)
    with db_context(org_ids=[a.organisation_id]), connection.cursor() as cur:
        cur.execute("SELECT entity_id FROM security_entitybankdetails")
        assert [r[0] for r in cur.fetchall()] == [a.pk]


def test_bank_details_cannot_point_at_another_organisations_entity():
    from django.db import IntegrityError, transaction

    a, b = EntityFactory(), EntityFactory()
    with pytest.raises(IntegrityError, match="bank_details_entity_same_org"), transaction.atomic(), \
            connection.cursor() as cur:
        cur.execute("INSERT INTO security_entitybankdetails (organisation_id, entity_id, label, bank_name, bic, "
                    "iban, tax_id, created_at, updated_at) VALUES (%s, %s, 'x', '', '', 'gAAAAA', '', now(), now())",
                    [a.organisation_id, b.pk])
    assert EntityBankDetails.objects.count() == 0


def test_an_invalid_iban_entered_in_the_admin_is_an_error_on_the_form(client, django_user_model):
    """The admin saves through entity_bank_details_set: its field errors show on the form (was a 500)."""
    entity = EntityFactory()
    client.force_login(django_user_model.objects.create_superuser("root", "root@example.test", "x" * 16))
    page = client.post("/admin/security/entitybankdetails/add/", {
        "entity": entity.pk, "label": "main", "bank_name": "Bank", "bic": "", "iban": "DE89370400440532013001",
        "tax_id": ""})
    assert page.status_code == 200
    assert page.context["adminform"].form.errors["iban"]
    assert EntityBankDetails.objects.count() == 0
