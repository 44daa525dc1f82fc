"""ORM queries compiled once per process and then run with new values (the hot API paths).

Building a queryset and compiling it to SQL costs Django ~0.1–1 ms of Python each time, for SQL
that is the same on every request but for its values. ``run_compiled`` builds the queryset once
with placeholder values, keeps the SQL Django made for it and where each placeholder went, and
afterwards runs that same SQL with the caller's values: the statement the database sees is exactly
the ORM's, on the same connection (same transaction, same row-level security context).

A placeholder is a value no caller passes (a large negative integer, a string with a NUL byte);
every placeholder must come out as a parameter of the SQL, or the query is refused (its shape
would then depend on the value, and a cached SQL would be wrong). A tuple argument (for ``__in``)
gets one placeholder per element: the tuple's length is part of the cache key. Values whose
shape changes the SQL (None or not, an empty list) belong in the caller's ``key``.
"""
from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from datetime import date
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import DatabaseError, connections, transaction
from django.db.models import QuerySet

_INT_BASE = -7_301_000_000_000_000
_EMPTY = object()
_cache: dict[tuple, Any] = {}
_unpreparable: set[tuple] = set()


def _placeholder(kind: type, n: int):
    if kind is str:
        return f"\x00sheshi-compiled-{n}\x00"
    if kind is int:
        return _INT_BASE - n
    raise TypeError(f"run_compiled takes int and str values (and tuples of them), not {kind.__name__}")


def _compile(key: tuple, build: Callable[..., QuerySet], args: Sequence, using: str):
    counter = 0
    placeholders: list = []
    where: dict[Any, tuple[int, int | None]] = {}
    for i, arg in enumerate(args):
        if isinstance(arg, tuple):
            group = []
            for j, element in enumerate(arg):
                counter += 1
                p = _placeholder(type(element), counter)
                where[p] = (i, j)
                group.append(p)
            placeholders.append(tuple(group))
        else:
            counter += 1
            p = _placeholder(type(arg), counter)
            where[p] = (i, None)
            placeholders.append(p)
    queryset = build(*placeholders)
    compiler = queryset.query.get_compiler(using)
    try:
        sql, params = compiler.as_sql()
    except EmptyResultSet:
        return _EMPTY
    # What the ORM would do to each column on the way out (JSON decoding, …), as in results_iter.
    converters = tuple(compiler.get_converters([s[0] for s in compiler.select[:compiler.col_count]]).items())
    slots = []
    seen = set()
    for param in params:
        slot = where.get(param) if type(param) in (int, str) else None
        if slot is not None:
            seen.add(slot)
        slots.append((param, slot))
    if len(seen) != len(where):
        raise ValueError(f"compiled query {key!r}: a value did not become a parameter; keep it out of the query")
    return sql, tuple(slots), converters


def compiled_query(key: tuple, build: Callable[..., QuerySet], *args, using: str = "default"):
    """``(sql, params, converters)`` of ``build(*args)``, compiled once for ``key`` (see
    run_compiled), or None when the query can match nothing (an empty IN). For a statement that
    embeds the ORM's query; ``convert_row`` applies the converters to the rows it reads."""
    full_key = (using, key, tuple(len(a) if isinstance(a, tuple) else -1 for a in args))
    compiled = _cache.get(full_key)
    if compiled is None:
        compiled = _cache[full_key] = _compile(key, build, args, using)
    if compiled is _EMPTY:
        return None
    sql, slots, converters = compiled
    params = [param if slot is None else (args[slot[0]] if slot[1] is None else args[slot[0]][slot[1]])
              for param, slot in slots]
    return sql, params, converters


def convert_row(row: Sequence, converters, *, using: str = "default") -> tuple:
    """A row of the compiled query as the ORM would give it (JSON decoded, …)."""
    if not converters:
        return tuple(row)
    connection = connections[using]
    values = list(row)
    for pos, (functions, expression) in converters:
        for function in functions:
            values[pos] = function(values[pos], expression, connection)
    return tuple(values)


def run_compiled(key: tuple, build: Callable[..., QuerySet], *args, using: str = "default") -> list[tuple]:
    """Rows of ``build(*args)`` (a values_list queryset), from SQL compiled once for ``key``.
    ``key`` names the query and whatever of its arguments changes the SQL's shape; tuple lengths
    are added to it here."""
    compiled = compiled_query(key, build, *args, using=using)
    if compiled is None:
        return []
    sql, params, converters = compiled
    full_key = (using, key, tuple(len(a) if isinstance(a, tuple) else -1 for a in args))
    with connections[using].cursor() as cur:
        execute_prepared(cur, full_key, sql, params, using=using)
        rows = cur.fetchall()
    if not converters:
        return rows
    return [convert_row(row, converters, using=using) for row in rows]


# Prepared on the server, once per connection. The ORM's SQL reaches PostgreSQL as text with the
# values written in (psycopg's client-side binding: server-side binding stays off, shared/STACK.md),
# so PostgreSQL parses, rewrites (row-level security) and plans it on every run: for the token, entity
# and account look-ups of a single API posting that was over a millisecond of the database's CPU
# per request. ``PREPARE`` (SQL, not the protocol's) keeps the parsed statement and its plan in
# the session, and ``EXECUTE name (values)`` still carries the values as literals. The plan cache
# re-plans when a table it uses changes or the session's role differs (row-level security), and
# the policies' settings (sheshi.org_ids, …) are read when the plan runs, not when it is made.
# A statement lives as long as its server session; the names carry a token drawn per connection,
# so a server session handed on by a pooler (PgBouncer, session mode: deploy/README.md) never
# meets a name it already holds. A statement PostgreSQL will not prepare is run as plain SQL.
# Select named columns, never *: a prepared * fails once a migration adds a column meanwhile.
_PARAM = re.compile(r"%(s|%)")
_TYPES = {bool: "boolean", int: "bigint", date: "date"}  # str: PostgreSQL infers it from where it is used


def execute_prepared(cur, key: tuple, sql: str, params: Sequence, *, using: str = "default",
                     types: Sequence[str] | None = None) -> None:
    """``cur.execute(sql, params)``, the statement prepared on the connection the first time ``key``
    (which names ``sql``: one key, one SQL text) is run there. Values: int, str, bool and date, or
    any value (None included) when ``types`` names the PostgreSQL type of each parameter."""
    prepared = _prepared_name(connections[using], cur, key, sql, params, types)
    if prepared is None:
        cur.execute(sql, params)
    else:
        cur.execute(f"EXECUTE {prepared} ({', '.join(['%s'] * len(params))})" if params else f"EXECUTE {prepared}",
                    params)


def _param_type(value) -> str | None:
    if type(value) in _TYPES:
        return _TYPES[type(value)]
    return "unknown" if type(value) is str else None


def _prepared_name(connection, cur, key: tuple, sql: str, params: Sequence,
                   types: Sequence[str] | None = None) -> str | None:
    if key in _unpreparable:
        return None
    raw = connection.connection
    state = getattr(connection, "_sheshi_prepared", None)
    if state is None or state[0] is not raw:
        state = connection._sheshi_prepared = (raw, secrets.token_hex(4), {})
    _, token, names = state
    name = names.get(key)
    if name is not None:
        return name
    if types is None:
        types = [_param_type(p) for p in params]
    elif len(types) != len(params):
        raise ValueError(f"prepared statement {key!r}: {len(types)} types for {len(params)} parameters")
    if None in types:
        _unpreparable.add(key)
        return None
    numbered = iter(range(1, len(params) + 1))
    text = _PARAM.sub(lambda m: f"${next(numbered)}" if m.group(1) == "s" else "%", sql)
    name = f"sheshi_{token}_{len(names) + 1}"
    head = f"PREPARE {name} ({', '.join(types)}) AS " if types else f"PREPARE {name} AS "
    try:
        # In a transaction, under a savepoint: a refused PREPARE must not abort the caller's work.
        with transaction.atomic(using=connection.alias) if connection.in_atomic_block else nullcontext():
            cur.execute(head + text)
    except DatabaseError:
        _unpreparable.add(key)
        return None
    names[key] = name
    return name

