"""Helpers for tests that race real threads against PostgreSQL (transaction=True tests)."""
from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import connection

from sheshi.db.context import ALL_ORGS, set_context


def run_threads(n: int, target: Callable[[int], None], *, timeout: float = 120) -> list[BaseException]:
    """Start ``n`` threads on ``target(i)`` behind a barrier so they really collide; each thread
    gets its own connection in the system scope. Returns the exceptions raised."""
    barrier = threading.Barrier(n)
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            set_context({"sheshi.org_ids": ALL_ORGS, "sheshi.actor_label": f"system:thread-{i}"})
            barrier.wait(timeout=30)
            target(i)
        except BaseException as exc:  # collected and asserted by the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    return errors
