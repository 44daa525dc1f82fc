"""The background job the workload enqueues into django-q2: a system posting keyed by a natural id.

It is safe to run twice (the Idempotency-Key makes a second run a replay), and it holds its
transaction open a moment after posting so that a kill -9 of the cluster lands mid-transaction
often enough to matter: PostgreSQL then rolls the transaction back and the broker hands the job
out again after ``Q_RETRY`` seconds.
"""
from __future__ import annotations

import time
from datetime import date
from decimal import Decimal

HOLD_SECONDS = 0.3


def post_accrual(key: str, entity_id: int, entry_date: str, amount: str, accounts: tuple[str, str]) -> int:
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from ledger.inputs import EntryInput, LineInput
    from ledger.services.entries import account_ids_by_code, journal_entry_create_and_post, request_fingerprint
    from sheshi.db.context import system_context
    from sheshi.tenancy.models import Entity
    from tests.reliability.seed import JOBS_USER

    user = get_user_model().objects.get(username=JOBS_USER)
    payload = {"key": key, "entity": entity_id, "date": entry_date, "amount": amount, "accounts": list(accounts)}
    with system_context("reliability-job", actor_id=user.pk):
        entity = Entity.objects.get(pk=entity_id)
        ids = account_ids_by_code(entity.organisation_id, list(accounts))
        value = Decimal(amount)
        lines = [LineInput(account_id=ids[accounts[0]], amount=value),
                 LineInput(account_id=ids[accounts[1]], amount=-value)]
        entry = EntryInput(entry_date=date.fromisoformat(entry_date), description=f"rel:{key}", lines=lines)
        with transaction.atomic():
            result = journal_entry_create_and_post(actor=user, entity=entity, entry=entry, idempotency_key=key,
                                                   request_hash=request_fingerprint(payload))
            time.sleep(HOLD_SECONDS)
        return result.entry.pk
