"""Look-ups remembered for one request: who may see which organisation and entity.

A request asks the same access questions several times (authentication, the view's scope, the
service's permission check). RequestIdMiddleware opens a scope per request; inside it a look-up
runs once. Outside a request (commands, jobs, tests calling services) nothing is remembered, so
a grant or revoke is seen at once there, and from the next request in the API.
"""
from __future__ import annotations

import contextvars
from collections.abc import Callable, Hashable
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")

_memo: contextvars.ContextVar[dict | None] = contextvars.ContextVar("sheshi_access_memo", default=None)


@contextmanager
def request_scope():
    token = _memo.set({})
    try:
        yield
    finally:
        _memo.reset(token)


def remember(key: Hashable, compute: Callable[[], T]) -> T:
    memo = _memo.get()
    if memo is None:
        return compute()
    if key not in memo:
        memo[key] = compute()
    return memo[key]


def recall(key: Hashable):
    """What this request remembered under ``key``, or None."""
    memo = _memo.get()
    return None if memo is None else memo.get(key)


def forget() -> None:
    """Drop what this request remembered (after a role grant or revoke, a membership change)."""
    memo = _memo.get()
    if memo is not None:
        memo.clear()
