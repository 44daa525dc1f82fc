"""A transaction PostgreSQL rolls back because of another one (a real deadlock here) answers 409
`concurrent_update` with Retry-After — a definite "nothing was written, send it again" — not a 500."""
import threading

import psycopg
import pytest
from django.db import DatabaseError, connections

from sheshi.api.problems import problem_exception_handler
from sheshi.errors import ConcurrentUpdate, from_db_error
from tests.conftest import _conninfo

pytestmark = pytest.mark.django_db(transaction=True)


def _deadlock() -> psycopg.Error:
    """Two sessions lock two advisory keys in opposite order; PostgreSQL aborts one of them."""
    info = _conninfo(connections["default"].settings_dict)
    a, b = psycopg.connect(info), psycopg.connect(info)
    errors: list[psycopg.Error] = []
    a_has_1, b_has_2 = threading.Event(), threading.Event()

    def run(conn, first, second, mine, other):
        try:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", [first])
            mine.set()
            other.wait(5)
            conn.execute("SELECT pg_advisory_xact_lock(%s)", [second])
        except psycopg.Error as exc:
            errors.append(exc)
        finally:
            conn.rollback()

    threads = [threading.Thread(target=run, args=(a, 1, 2, a_has_1, b_has_2)),
               threading.Thread(target=run, args=(b, 2, 1, b_has_2, a_has_1))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    a.close()
    b.close()
    assert len(errors) == 1, errors
    return errors[0]


def test_a_deadlock_is_a_409_concurrent_update_with_retry_after():
    err = _deadlock()
    assert err.sqlstate == "40P01"
    wrapped = DatabaseError("deadlock detected")
    wrapped.__cause__ = err  # as Django wraps the driver's error
    mapped = from_db_error(wrapped)
    assert isinstance(mapped, ConcurrentUpdate) and mapped.status == 409
    resp = problem_exception_handler(wrapped, {})
    assert (resp.status_code, resp.data["code"], resp["Retry-After"]) == (409, "concurrent_update", "1")
    assert "nothing was written" in resp.data["detail"]


def test_other_database_errors_still_surface():
    """An unnamed, non-transient error is not turned into a refusal (it stays a 500 and is logged)."""
    plain = DatabaseError("boom")
    assert from_db_error(plain) is None
    with pytest.raises(DatabaseError):
        problem_exception_handler(plain, {})
