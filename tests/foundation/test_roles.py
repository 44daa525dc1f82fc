"""The application's role owns nothing; migrations ran as the owner."""
import psycopg
import pytest

from tests.conftest import requires_role_split

pytestmark = [pytest.mark.django_db, requires_role_split]


def test_app_role_owns_no_tables(app_sql):
    cur = app_sql.execute(
        "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner = current_user")
    assert cur.fetchone()[0] == 0
    assert app_sql.execute("SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user"
                           ).fetchone()[0] is False


def test_app_role_cannot_truncate_or_alter(app_sql):
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        app_sql.execute("TRUNCATE tenancy_entity CASCADE")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        app_sql.execute("ALTER TABLE tenancy_entity DISABLE ROW LEVEL SECURITY")
