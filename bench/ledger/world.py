"""The benchmark world: one organisation with a realistic chart, FY2026, entities and a user
who may prepare, approve and view in each entity. Deterministic data from a printed seed."""
from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

GROUPS = [("1000", "Assets", "asset"), ("2000", "Liabilities", "liability"), ("3000", "Equity", "equity"),
          ("4000", "Revenue", "revenue"), ("5000", "Expenses", "expense")]
POSTING_PER_GROUP = 20  # 100 posting accounts under 5 groups and 10 sub-groups: a mid-sized chart
FY_START = date(2026, 1, 1)
SEED = 20260101


@dataclass
class World:
    org_id: int
    entity_ids: list[int]
    entity_codes: list[str]
    account_ids: list[int]
    account_codes: list[str]
    user_id: int
    username: str


def build_world(*, entities: int = 1, code: str = "BENCH", posting_per_group: int = POSTING_PER_GROUP) -> World:
    """Create the organisation, chart, fiscal year and a user (run in a system context)."""
    from django.contrib.auth import get_user_model

    from ledger.models import Account, AccountKind
    from periods.services.transitions import fiscal_year_generate
    from sheshi.access.roles import Role
    from sheshi.access.services.grants import role_grant
    from sheshi.access.services.memberships import membership_set
    from sheshi.tenancy.models import Entity, Organisation

    org = Organisation.objects.create(code=code, name=f"{code} Group", group_currency="EUR")
    ents = [Entity.objects.create(organisation=org, code=f"{code}-E{i:02d}", name=f"Entity {i}",
                                  functional_currency="EUR", country="DE") for i in range(entities)]
    posting: list[Account] = []
    for gcode, gname, typ in GROUPS:
        normal = "debit" if typ in ("asset", "expense") else "credit"
        group = Account.objects.create(organisation=org, code=gcode, name=gname, type=typ, kind=AccountKind.GROUP,
                                       normal_balance=normal)
        for s in range(2):
            sub = Account.objects.create(organisation=org, code=f"{gcode[0]}{s + 1}00", name=f"{gname} {s + 1}",
                                         type=typ, kind=AccountKind.GROUP, parent=group, normal_balance=normal)
            for n in range(posting_per_group // 2):
                posting.append(Account.objects.create(
                    organisation=org, code=f"{gcode[0]}{s + 1}{n + 1:03d}", name=f"{gname} {s + 1}.{n + 1}",
                    type=typ, kind=AccountKind.POSTING, parent=sub, normal_balance=normal))
    fiscal_year_generate(organisation=org, year=2026)
    user = get_user_model().objects.create_user(username=f"{code.lower()}-poster", password=None)
    membership_set(actor=None, user=user, organisation=org)
    for ent in ents:
        for role in (Role.PREPARER, Role.VIEWER):
            role_grant(actor=None, user=user, entity=ent, role=role)
    return World(org_id=org.pk, entity_ids=[e.pk for e in ents], entity_codes=[e.code for e in ents],
                 account_ids=[a.pk for a in posting], account_codes=[a.code for a in posting],
                 user_id=user.pk, username=user.username)


def two_line_amounts(n_entries: int, n_accounts: int, seed: int = SEED) -> Iterator[tuple[date, int, int, Decimal]]:
    """(date, debit account index, credit account index, amount) for each entry, spread over
    FY2026 and the chart. Lazy: nothing is held beyond the current entry."""
    rng = random.Random(seed)
    for i in range(n_entries):
        day = FY_START + timedelta(days=i * 365 // max(n_entries, 1))
        debit = rng.randrange(n_accounts)
        credit = (debit + 1 + rng.randrange(n_accounts - 1)) % n_accounts
        amount = Decimal(rng.randrange(1, 10_000_000)) / 100
        yield day, debit, credit, amount


def entry_inputs(world: World, n_entries: int, seed: int = SEED):
    """EntryInput objects for the bulk path (two lines each)."""
    from ledger.inputs import EntryInput, LineInput

    accounts = world.account_ids
    for i, (day, d, c, amount) in enumerate(two_line_amounts(n_entries, len(accounts), seed)):
        yield EntryInput(entry_date=day, description=f"Bench entry {i}", lines=[
            LineInput(account_id=accounts[d], amount=amount),
            LineInput(account_id=accounts[c], amount=-amount),
        ])
