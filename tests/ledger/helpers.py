"""A small, fixed world for ledger tests: one organisation, two entities, a chart, FY2026."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from ledger.inputs import EntryInput, LineInput
from ledger.models import Account, AccountKind, AccountType, NormalBalance
from periods.models import EntityPeriod, Period
from periods.services.transitions import fiscal_year_generate
from sheshi.tenancy.models import Entity, Organisation
from tests.factories import EntityFactory, OrganisationFactory

CHART = [
    # code, name, type, kind, parent
    ("1000", "Assets", AccountType.ASSET, AccountKind.GROUP, None),
    ("1100", "Cash", AccountType.ASSET, AccountKind.POSTING, "1000"),
    ("1200", "Receivables", AccountType.ASSET, AccountKind.POSTING, "1000"),
    ("2000", "Liabilities", AccountType.LIABILITY, AccountKind.GROUP, None),
    ("2100", "Payables", AccountType.LIABILITY, AccountKind.POSTING, "2000"),
    ("3000", "Equity", AccountType.EQUITY, AccountKind.GROUP, None),
    ("3100", "Share capital", AccountType.EQUITY, AccountKind.POSTING, "3000"),
    ("3200", "Retained earnings", AccountType.EQUITY, AccountKind.POSTING, "3000"),
    ("4000", "Revenue", AccountType.REVENUE, AccountKind.GROUP, None),
    ("4100", "Sales", AccountType.REVENUE, AccountKind.POSTING, "4000"),
    ("5000", "Expenses", AccountType.EXPENSE, AccountKind.GROUP, None),
    ("5100", "Cost of sales", AccountType.EXPENSE, AccountKind.POSTING, "5000"),
]
NORMAL = {AccountType.ASSET: NormalBalance.DEBIT, AccountType.EXPENSE: NormalBalance.DEBIT}


@dataclass
class World:
    org: Organisation
    entity: Entity
    other: Entity
    accounts: dict[str, Account]

    def acc(self, code: str) -> int:
        return self.accounts[code].pk

    def period(self, code: str) -> Period:
        return Period.objects.get(organisation=self.org, code=code)

    def entity_period(self, code: str, entity: Entity | None = None) -> EntityPeriod:
        return EntityPeriod.objects.get(entity=entity or self.entity, period__code=code)

    def sale(self, amount: str | Decimal, day: date = date(2026, 3, 15), **kw) -> EntryInput:
        amount = Decimal(amount)
        return EntryInput(entry_date=day, description=f"Sale {amount}", lines=[
            LineInput(account_id=self.acc("1200"), amount=amount),
            LineInput(account_id=self.acc("4100"), amount=-amount),
        ], **kw)


def build_chart(org: Organisation) -> dict[str, Account]:
    accounts: dict[str, Account] = {}
    for code, name, typ, kind, parent in CHART:
        accounts[code] = Account.objects.create(
            organisation=org, code=code, name=name, type=typ, kind=kind,
            parent=accounts[parent] if parent else None,
            normal_balance=NORMAL.get(typ, NormalBalance.CREDIT))
    return accounts


def build_world(code: str = "ACME") -> World:
    org = OrganisationFactory(code=code, name=f"{code} Group")
    entity = EntityFactory(organisation=org, code=f"{code}-DE", functional_currency="EUR", country="DE")
    other = EntityFactory(organisation=org, code=f"{code}-US", functional_currency="USD", country="US")
    accounts = build_chart(org)
    fiscal_year_generate(organisation=org, year=2026)
    return World(org=org, entity=entity, other=other, accounts=accounts)
