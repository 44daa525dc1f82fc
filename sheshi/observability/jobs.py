"""Request ids and timings for django-q2 jobs, through django-q2's own signals.

On enqueue the current request id (a web request's, or the running job's for a follow-up job) is
stored in the task package. In the worker, before the job runs, it becomes the job's request id:
in log lines (the logging filter reads it) and in the database session (`sheshi.request_id`, which
audit and history rows record). A job enqueued outside any request gets ``job:<task id>``. After
the job, its outcome and duration go to the metrics and to one log line; django-q2's admin keeps
the result of every job (Task: success, started, stopped).
"""
from __future__ import annotations

import contextlib
import logging
import time

from django.db import connection
from django_q.signals import post_execute_in_worker, pre_enqueue, pre_execute

from sheshi.db.context import set_context
from sheshi.observability import metrics
from sheshi.request_context import request_id_var

logger = logging.getLogger("sheshi.jobs")
_running: list[tuple[object, float, str]] = []  # (contextvar token, start, previous id); a stack for sync mode


def _set_db_request_id(value: str) -> None:
    if connection.in_atomic_block and connection.needs_rollback:
        return  # the rollback will discard the session change anyway
    with contextlib.suppress(Exception):  # a job must not fail because its context could not be set
        set_context({"sheshi.request_id": value})


def _func_name(task: dict) -> str:
    from django_q.utils import get_func_repr

    return get_func_repr(task.get("func"))


def on_enqueue(sender, task: dict, **kwargs) -> None:
    task.setdefault("request_id", request_id_var.get())


def on_execute(sender, func, task: dict, **kwargs) -> None:
    rid = task.get("request_id") or f"job:{task.get('id', '')}"
    previous = request_id_var.get()
    token = request_id_var.set(rid)
    _running.append((token, time.monotonic(), previous))
    _set_db_request_id(rid)


def on_executed(sender, func, task: dict, **kwargs) -> None:
    if not _running:
        return
    token, started, previous = _running.pop()
    seconds = time.monotonic() - started
    name = _func_name(task)
    outcome = "success" if task.get("success") else "failure"
    metrics.job_record(func=name, outcome=outcome, seconds=seconds)
    logger.info("job %s %s", name, outcome, extra={
        "task_id": task.get("id", ""), "func": name, "outcome": outcome,
        "duration_ms": round(seconds * 1000, 1), "attempt": task.get("attempt_count", ""),
    })
    _set_db_request_id(previous)
    with contextlib.suppress(ValueError):  # token from another context (cannot happen in one worker)
        request_id_var.reset(token)


def connect_signals() -> None:
    pre_enqueue.connect(on_enqueue, dispatch_uid="sheshi.observability.on_enqueue")
    pre_execute.connect(on_execute, dispatch_uid="sheshi.observability.on_execute")
    post_execute_in_worker.connect(on_executed, dispatch_uid="sheshi.observability.on_executed")
