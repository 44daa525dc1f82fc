"""simple-history with the request id on every historical row, so a history entry, its audit
event and the request's log lines can be joined."""
from __future__ import annotations

from django.db import models
from django.dispatch import receiver
from simple_history.models import HistoricalRecords
from simple_history.signals import pre_create_historical_record

from sheshi.request_context import request_id_var


class RequestContextHistory(models.Model):
    request_id = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        abstract = True


def history(**options) -> HistoricalRecords:
    """HistoricalRecords for a domain model (actor, change reason, request id); ``options`` go to
    HistoricalRecords (e.g. ``user_db_constraint=False``)."""
    return HistoricalRecords(bases=[RequestContextHistory], cascade_delete_history=False, **options)


@receiver(pre_create_historical_record)
def _stamp_request_id(sender, instance, history_instance, **kwargs):
    history_instance.request_id = request_id_var.get()[:64]
