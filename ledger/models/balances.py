"""Balances per (entity, account, period, currency), maintained by PostgreSQL in the posting
transaction itself. The application's role may read them but never write them."""
from __future__ import annotations

from django.db import models

from sheshi.money import amount_field


class Balance(models.Model):
    organisation_id = models.BigIntegerField()
    entity_id = models.BigIntegerField()
    account_id = models.BigIntegerField()
    period_id = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    amount = amount_field(default=0)  # net in the transaction currency
    functional_debit = amount_field(default=0)
    functional_credit = amount_field(default=0)
    line_count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["entity_id", "account_id", "period_id", "currency"],
                                    name="balance_key_unique"),
        ]
        indexes = [models.Index(fields=["organisation_id", "period_id", "entity_id"], name="balance_org_period")]

    def __str__(self) -> str:
        return f"{self.entity_id}/{self.account_id}/{self.period_id}/{self.currency}"

    @property
    def functional_net(self):
        return self.functional_debit - self.functional_credit
