"""simple-history with the request id on every historical row, so a history entry, its audit
event and the request's log lines can be joined.

History rows are written only through the owner's entry point ``sheshi_history_append`` (the
application's roles may read history tables, not write them: sheshi/db/roles.py,
sheshi/tenancy/sql/0007_entry_points.sql). Every historical model has ``RequestContextHistory``
as its base, whose ``save()`` (simple-history's ``create_historical_record``) and manager's
``bulk_create`` (``bulk_history_create``, ``bulk_create_with_history``) send the rows to that
function as one jsonb array per call: set-based, one statement per batch. The history guard on
the table still refuses a back-dated row or one naming another user than the acting one."""
from __future__ import annotations

import json
from datetime import date, datetime, time
from decimal import Decimal
from functools import cache
from uuid import UUID

from django.db import connections, models, router
from django.dispatch import receiver
from simple_history.manager import HistoryManager
from simple_history.models import HistoricalRecords
from simple_history.signals import pre_create_historical_record

from sheshi.request_context import request_id_var


def _column_value(field, obj):
    value = getattr(obj, field.attname)
    if value is None:
        return None
    if isinstance(field, models.JSONField):
        return json.loads(json.dumps(value, cls=field.encoder)) if field.encoder else value
    lower = getattr(value, "lower", None)
    if hasattr(value, "isempty") and hasattr(value, "bounds"):  # a range (psycopg Range)
        if value.isempty:
            return "empty"
        bounds = value.bounds or "[)"
        return (f"{bounds[0]}{'' if lower is None else _scalar(lower)},"
                f"{'' if value.upper is None else _scalar(value.upper)}{bounds[1]}")
    if isinstance(value, list | tuple):
        return [None if v is None else _scalar(v) for v in value]
    return _scalar(value)


def _scalar(value):
    if isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Decimal | UUID):
        return str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)


def append_history_rows(model, objs, using: str | None = None) -> list:
    """Write the historical instances ``objs`` of ``model`` through ``sheshi_history_append`` in one
    statement; sets each instance's id and marks it saved. Returns ``objs``."""
    objs = list(objs)
    if not objs:
        return objs
    alias = using or router.db_for_write(model)
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    request_id = request_id_var.get()[:64]
    rows = []
    for obj in objs:
        if not getattr(obj, "request_id", ""):
            obj.request_id = request_id
        rows.append({f.column: _column_value(f, obj) for f in fields})
    with connections[alias].cursor() as cur:
        cur.execute("SELECT sheshi_history_append(%s, %s::jsonb)", [model._meta.db_table, json.dumps(rows)])
        ids = [r[0] for r in cur.fetchall()]
    for obj, pk in zip(objs, ids, strict=True):
        obj.pk = pk
        obj._state.adding = False
        obj._state.db = alias
    return objs


class HistoryRowQuerySet(models.QuerySet):
    def bulk_create(self, objs, batch_size=None, **kwargs):
        objs = list(objs)
        size = batch_size or len(objs) or 1
        for start in range(0, len(objs), size):
            append_history_rows(self.model, objs[start:start + size], using=self.db)
        return objs


class RequestContextHistory(models.Model):
    request_id = models.CharField(max_length=64, blank=True, default="")

    objects = HistoryRowQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, using=None, **kwargs):
        if not self._state.adding or self.pk is not None:
            raise TypeError("a history row is never changed; history is appended only")
        append_history_rows(type(self), [self], using=using)


class ClassCachedHistoryManager(HistoryManager):
    """simple-history's manager, its per-queryset class made once. ``instance.history`` (which
    simple-history reads on every save to find the historical model) calls ``from_queryset``,
    and Django's ``from_queryset`` builds a new class each time, walking the queryset's members
    with ``inspect``: about a twentieth of a single API posting's Python (bench.ledger.api). The
    class depends only on its arguments, so one per argument set does the same."""

    @classmethod
    @cache
    def from_queryset(cls, queryset_class, class_name=None):
        return super().from_queryset(queryset_class, class_name)


def history(**options) -> HistoricalRecords:
    """HistoricalRecords for a domain model (actor, change reason, request id); ``options`` go to
    HistoricalRecords (e.g. ``user_db_constraint=False``)."""
    return HistoricalRecords(bases=[RequestContextHistory], cascade_delete_history=False,
                             history_manager=ClassCachedHistoryManager, **options)


@receiver(pre_create_historical_record)
def _stamp_request_id(sender, instance, history_instance, **kwargs):
    history_instance.request_id = request_id_var.get()[:64]
