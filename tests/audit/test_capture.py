"""No change without its event: writes through any path (raw SQL as the app's role included) are
recorded by the audit triggers, and a write with no actor set is refused."""
import psycopg
import pytest

from audit.canonical import rows_digest
from tests.audit.helpers import count, events, raw_entities, raw_org, rolled_back, set_raw_context
from tests.conftest import requires_role_split

pytestmark = [pytest.mark.django_db, requires_role_split]


def test_raw_insert_update_delete_by_app_role_each_record_their_event(app_sql):
    set_raw_context(app_sql, actor_label="test:raw")
    with rolled_back(app_sql):
        org = raw_org(app_sql, "RAW1")
        app_sql.execute("UPDATE tenancy_organisation SET name = 'Renamed' WHERE id = %s", [org])
        app_sql.execute("UPDATE tenancy_organisation SET name = 'Renamed' WHERE id = %s", [org])  # no change
        app_sql.execute("DELETE FROM tenancy_organisation WHERE id = %s", [org])
        got = events(app_sql, "object_type = 'tenancy.organisation'")

    assert [(e[0], e[1], e[3], e[5]) for e in got] == [
        (org, "insert", str(org), "test:raw"), (org, "update", str(org), "test:raw"),
        (org, "delete", str(org), "test:raw")]
    assert got[0][4]["after"]["code"] == "RAW1"
    assert got[1][4] == {"before": {"name": "Org RAW1"}, "after": {"name": "Renamed"}}
    assert got[2][4]["before"]["name"] == "Renamed"


def test_write_with_no_actor_is_refused_and_changes_nothing(app_sql):
    set_raw_context(app_sql, actor_label="test:setup")
    with rolled_back(app_sql):
        org = raw_org(app_sql, "NOACT")
        set_raw_context(app_sql, actor_label="")
        before = (count(app_sql, "tenancy_organisation"), count(app_sql, "audit_event"))
        for sql in ("INSERT INTO tenancy_organisation (code, name, group_currency, fiscal_year_start_month, created_at,"
                    " updated_at) VALUES ('X', 'X', 'EUR', 1, now(), now())",
                    f"UPDATE tenancy_organisation SET name = 'Changed' WHERE id = {org}",
                    f"DELETE FROM tenancy_organisation WHERE id = {org}"):
            with pytest.raises(psycopg.errors.IntegrityConstraintViolation) as exc, app_sql.transaction():
                app_sql.execute(sql)
            assert exc.value.diag.constraint_name == "audit_actor_required"
        assert (count(app_sql, "tenancy_organisation"), count(app_sql, "audit_event")) == before
        name = app_sql.execute("SELECT name FROM tenancy_organisation WHERE id = %s", [org]).fetchone()[0]
        assert name == "Org NOACT"


def test_actor_id_alone_is_enough(app_sql):
    set_raw_context(app_sql, actor_id="42")
    with rolled_back(app_sql):
        org = raw_org(app_sql, "BYID")
        row = app_sql.execute("SELECT actor_id, actor_label FROM audit_event WHERE organisation_id = %s",
                              [org]).fetchone()
    assert row == (42, None)


def test_app_role_cannot_insert_update_delete_or_truncate_audit_tables(app_sql):
    set_raw_context(app_sql, actor_label="test:raw")
    with rolled_back(app_sql):
        raw_org(app_sql, "PRIV")
    set_raw_context(app_sql, actor_label="test:raw")
    attempts = [
        "INSERT INTO audit_event (organisation_id, action, object_type, content_hash) VALUES (1, 'x', 'y', 'z')",
        "UPDATE audit_event SET action = 'forged'",
        "DELETE FROM audit_event",
        "TRUNCATE audit_event",
        "INSERT INTO audit_chain (event_id, organisation_id, seq, prev_hash, hash) VALUES (1, 1, 1, 'a', 'b')",
        "UPDATE audit_chain SET hash = 'x'",
        "DELETE FROM audit_chain",
        "UPDATE audit_chain_head SET seq = 0",
        "DELETE FROM audit_pending",
        "SELECT audit_append(ARRAY[1::bigint], ARRAY['forged'], 'x', ARRAY['1'], ARRAY['{}'::jsonb])",
        "ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only",
    ]
    before = count(app_sql, "audit_event")
    for sql in attempts:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            app_sql.execute(sql)
    assert count(app_sql, "audit_event") == before


def test_owner_cannot_change_audit_rows_while_the_trigger_is_enabled(owner_sql):
    set_raw_context(owner_sql, actor_label="test:owner")
    with rolled_back(owner_sql):
        org = raw_org(owner_sql, "OWN")
        original = events(owner_sql, "organisation_id = %s", [org])
        for sql, name in (("UPDATE audit_event SET action = 'forged'", "audit_event_append_only"),
                          ("DELETE FROM audit_event", "audit_event_append_only"),
                          ("TRUNCATE audit_event", "audit_event_append_only"),
                          ("UPDATE audit_chain SET hash = 'x'", "audit_chain_append_only"),
                          ("TRUNCATE tenancy_membership", "audit_truncate_refused")):
            with pytest.raises(psycopg.errors.IntegrityConstraintViolation) as exc, owner_sql.transaction():
                owner_sql.execute(sql)
            assert exc.value.diag.constraint_name == name
        assert events(owner_sql, "organisation_id = %s", [org]) == original


def test_statement_up_to_threshold_records_one_event_per_row(app_sql):
    set_raw_context(app_sql, actor_label="test:raw")
    with rolled_back(app_sql):
        org = raw_org(app_sql, "THR")
        ids = raw_entities(app_sql, org, 100)
        got = events(app_sql, "object_type = 'tenancy.entity'")
    assert [e[1] for e in got] == ["insert"] * 100
    assert sorted(int(e[3]) for e in got) == sorted(ids)


def test_bulk_insert_records_one_summary_whose_digest_verifies(app_sql):
    set_raw_context(app_sql, actor_label="test:bulk")
    with rolled_back(app_sql):
        org = raw_org(app_sql, "BULK")
        ids = raw_entities(app_sql, org, 10_000)
        got = events(app_sql, "object_type = 'tenancy.entity'")
        assert len(got) == 1
        org_id, action, _, object_id, changes, actor = got[0]
        assert (org_id, action, object_id, actor) == (org, "bulk_insert", None, "test:bulk")
        assert (changes["count"], changes["min_id"], changes["max_id"]) == (10_000, min(ids), max(ids))
        assert "ranges" not in changes

        def digest_now() -> str:
            rows = app_sql.execute("SELECT record_send(e) FROM tenancy_entity e WHERE id BETWEEN %s AND %s"
                                   " ORDER BY id", [min(ids), max(ids)]).fetchall()
            return rows_digest(r[0] for r in rows)

        assert digest_now() == changes["digest"]
        app_sql.execute("UPDATE tenancy_entity SET name = 'tampered' WHERE id = %s", [ids[5000]])
        assert digest_now() != changes["digest"]


def test_bulk_update_and_delete_record_summaries_with_both_digests(app_sql):
    set_raw_context(app_sql, actor_label="test:bulk")
    with rolled_back(app_sql):
        org = raw_org(app_sql, "BULK2")
        ids = raw_entities(app_sql, org, 300)
        app_sql.execute("UPDATE tenancy_entity SET is_active = false WHERE organisation_id = %s AND id %% 2 = 0", [org])
        app_sql.execute("DELETE FROM tenancy_entity WHERE organisation_id = %s", [org])
        got = events(app_sql, "object_type = 'tenancy.entity' AND action <> 'bulk_insert'")
    evens = [i for i in ids if i % 2 == 0]
    assert [e[1] for e in got] == ["bulk_update", "bulk_delete"]
    upd, dele = got[0][4], got[1][4]
    assert (upd["count"], upd["min_id"], upd["max_id"]) == (len(evens), min(evens), max(evens))
    assert upd["ranges"] == [[i, i] for i in evens]
    assert upd["before_digest"] != upd["digest"]
    assert (dele["count"], dele["min_id"], dele["max_id"]) == (300, min(ids), max(ids))


def test_guardian_grant_is_recorded_in_the_entity_organisation(jobs_sql):
    # A grant goes through the owner's entry point, and needs a role manager (here the system, so the jobs
    # role's session) and a member of the entity's organisation; tests/security/test_definer_entry_points.py
    # tries without.
    set_raw_context(jobs_sql, actor_label="system:test-raw")
    with rolled_back(jobs_sql):
        org = raw_org(jobs_sql, "PERM")
        entity = raw_entities(jobs_sql, org, 1)[0]
        user = jobs_sql.execute("INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email,"
                               " is_staff, is_active, date_joined) VALUES ('x', false, 'permuser', '', '', '', false,"
                               " true, now()) RETURNING id").fetchone()[0]
        jobs_sql.execute("SELECT tenancy_membership_set(%s, %s, false, true)", [org, user])
        jobs_sql.execute("SELECT tenancy_entity_permission_grant(%s, ARRAY['view_entity_data'], %s, NULL)",
                         [entity, user])
        got = events(jobs_sql, "object_type = 'tenancy.entityuserobjectpermission'")
    assert [(e[0], e[1]) for e in got] == [(org, "insert")]
    assert got[0][4]["after"]["user_id"] == user
