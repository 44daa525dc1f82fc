"""Operations telemetry: Prometheus metrics, request timing in the logs, request ids in jobs.

Other apps need only two calls:

* ``record_posting(lines=...)`` after an entry is posted (counted when the transaction commits);
* ``enqueue(func, *args)`` instead of ``async_task`` so the job's logs and database context carry
  the request id of the request that caused it (any ``async_task`` gets it too once this app is
  installed; ``enqueue`` is the documented entry point).
"""
from sheshi.observability.hooks import enqueue, record_posting

__all__ = ["enqueue", "record_posting"]
