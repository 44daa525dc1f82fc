"""Build the demo group through the normal services: an organisation, a parent and three
subsidiaries in three currencies, users in every role, a group chart, FY2026 and a year of
journals. Deterministic (fixed seed), so every newcomer sees the same figures."""
from __future__ import annotations

import random
from datetime import date
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import transaction

from ledger.bulk import journal_entries_post_bulk
from ledger.inputs import EntryInput, LineInput
from ledger.models import Account, AccountRole, EntrySource
from periods.demo import lock_demo_periods
from periods.services import fiscal_year_generate
from sheshi.access.roles import Role
from sheshi.access.services import role_grant
from sheshi.demo.chart import GROUP_CHART
from sheshi.tenancy.models import Entity, Membership, Organisation

ORG_CODE = "DEMO"
# Printed by `make run`; demo data only (load_demo refuses to run with DEBUG off).
DEMO_PASSWORD = "sheshi-demo-2026"  # noqa: S105
ENTITIES = [
    # code, name, currency, country, monthly sales (functional), approval needed for manual entries
    ("HOLD", "Sheshi Holding GmbH", "EUR", "DE", Decimal("180000")),
    ("UK", "Sheshi UK Ltd", "GBP", "GB", Decimal("95000")),
    ("US", "Sheshi Inc.", "USD", "US", Decimal("140000")),
    ("FR", "Sheshi France SAS", "EUR", "FR", Decimal("60000")),
]
USERS = [
    # username, role on every entity (None: no entity role), staff, superuser
    ("admin", None, True, True),
    ("controller", Role.CONTROLLER, True, False),
    ("preparer", Role.PREPARER, True, False),
    ("approver", Role.APPROVER, True, False),
    ("auditor", Role.AUDITOR, True, False),
    ("viewer", Role.VIEWER, False, False),
]
CENT = Decimal("0.01")


def _accounts(org: Organisation) -> dict[str, Account]:
    accounts: dict[str, Account] = {}
    for code, name, typ, kind, parent, role, ic, _pair in GROUP_CHART:
        accounts[code] = Account.objects.create(
            organisation=org, code=code, name=name, type=typ, kind=kind, parent=accounts.get(parent),
            role=role or AccountRole.NONE, is_intercompany=ic,
            normal_balance="debit" if typ in ("asset", "expense") else "credit")
    for code, *_rest, pair in GROUP_CHART:
        if pair:
            accounts[code].ic_pair = accounts[pair]
            accounts[code].save(update_fields=["ic_pair"])
    return accounts


def _money(x: Decimal) -> Decimal:
    return x.quantize(CENT)


def _month_entries(rng: random.Random, acc: dict[str, Account], month: int, sales: Decimal,
                   ic_partner: Entity | None, is_parent: bool) -> list[EntryInput]:
    """A month of a trading entity's books: sales on account, cash collected, cost of sales,
    payroll, rent, depreciation; and an intercompany sale/purchase with the parent."""
    a = {code: account.pk for code, account in acc.items()}
    d = lambda day: date(2026, month, day)  # noqa: E731 - a local shorthand
    s = _money(sales * Decimal(rng.uniform(0.85, 1.15)))
    cogs = _money(s * Decimal("0.58"))
    pay = _money(s * Decimal("0.18"))
    rent = _money(s * Decimal("0.05"))
    dep = _money(s * Decimal("0.02"))
    collected = _money(s * Decimal(rng.uniform(0.8, 1.0)))
    two = lambda dr, cr, amount, day, text, **kw: EntryInput(  # noqa: E731
        entry_date=d(day), description=text,
        lines=[LineInput(account_id=a[dr], amount=amount, **kw), LineInput(account_id=a[cr], amount=-amount, **kw)])
    entries = [
        two("1200", "4100", s, 25, f"Sales invoices {month:02d}/2026"),
        two("1100", "1200", collected, 28, f"Customer receipts {month:02d}/2026"),
        two("5100", "1300", cogs, 25, f"Cost of goods sold {month:02d}/2026"),
        two("1300", "2100", _money(cogs * Decimal("1.02")), 10, f"Inventory purchases {month:02d}/2026"),
        two("5300", "1100", pay, 27, f"Payroll {month:02d}/2026"),
        two("5400", "2300", rent, 1, f"Rent and utilities {month:02d}/2026"),
        two("5500", "1500", dep, 28, f"Depreciation {month:02d}/2026"),
        two("2100", "1100", _money(cogs * Decimal("0.95")), 20, f"Supplier payments {month:02d}/2026"),
    ]
    if ic_partner is not None and month % 3 == 0:
        ic = _money(sales * Decimal("0.10"))
        if is_parent:
            entries.append(EntryInput(entry_date=d(15), description=f"Management fee to {ic_partner.code}", lines=[
                LineInput(account_id=a["1250"], amount=ic, counterparty_id=ic_partner.pk),
                LineInput(account_id=a["4200"], amount=-ic, counterparty_id=ic_partner.pk)]))
        else:
            entries.append(EntryInput(entry_date=d(15), description=f"Management fee from {ic_partner.code}", lines=[
                LineInput(account_id=a["5200"], amount=ic, counterparty_id=ic_partner.pk),
                LineInput(account_id=a["2250"], amount=-ic, counterparty_id=ic_partner.pk)]))
    return entries


SHESHI_APPS = ["tenancy", "access", "ledger", "periods", "consolidation", "audit", "security"]


def _admin_groups() -> dict[str, Group]:
    """Django model permissions for the admin pages (what pages a staff user sees); what data they
    see and may change is still decided per entity by the guardian roles."""
    view = Permission.objects.filter(content_type__app_label__in=SHESHI_APPS, codename__startswith="view_")
    readers, _ = Group.objects.get_or_create(name="Sheshi readers")
    readers.permissions.set(view)
    controllers, _ = Group.objects.get_or_create(name="Sheshi controllers")
    controllers.permissions.set(view | Permission.objects.filter(
        content_type__app_label__in=["ledger", "periods", "consolidation"],
        codename__regex=r"^(add|change)_"))
    return {"readers": readers, "controllers": controllers}


@transaction.atomic
def load_demo(stdout=None) -> Organisation:
    """Create the demo group once; a second call finds it and changes nothing."""
    existing = Organisation.objects.filter(code=ORG_CODE).first()
    if existing is not None:
        return existing
    org = Organisation.objects.create(code=ORG_CODE, name="Sheshi Demo Group", group_currency="EUR",
                                      fiscal_year_start_month=1)
    entities = [Entity.objects.create(organisation=org, code=code, name=name, functional_currency=cur, country=cc,
                                      approval_required_sources=["manual"])
                for code, name, cur, cc, _ in ENTITIES]
    acc = _accounts(org)
    fiscal_year_generate(organisation=org, year=2026)
    User = get_user_model()
    groups = _admin_groups()
    for username, role, staff, superuser in USERS:
        user = User.objects.filter(username=username).first() or User(username=username)
        user.is_staff, user.is_superuser, user.email = staff, superuser, f"{username}@demo.sheshi.test"
        user.set_password(DEMO_PASSWORD)
        user.save()
        user.groups.add(groups["controllers"] if role == Role.CONTROLLER else groups["readers"])
        Membership.objects.get_or_create(organisation=org, user=user,
                                         defaults={"is_org_admin": superuser or role == Role.CONTROLLER})
        if role is not None:
            for entity in entities:
                role_grant(actor=None, user=user, entity=entity, role=role)
    rng = random.Random(2026)  # noqa: S311 - reproducible demo figures, not security
    parent = entities[0]
    for (code, _name, _cur, _cc, sales), entity in zip(ENTITIES, entities, strict=True):
        capital = _money(sales * 3)
        opening = [EntryInput(entry_date=date(2026, 1, 1), description="Share capital paid in", lines=[
            LineInput(account_id=acc["1100"].pk, amount=capital),
            LineInput(account_id=acc["3100"].pk, amount=-capital)])]
        months = [e for m in range(1, 13)
                  for e in _month_entries(rng, acc, m, sales, None if entity is parent else parent, False)]
        journal_entries_post_bulk(actor=None, entity=entity, entries=opening + months, source=EntrySource.IMPORT)
        if stdout:
            stdout.write(f"  {code}: {len(opening) + len(months)} entries posted")
    # The parent's side of the quarterly management fees.
    parent_ic = [e for m in (3, 6, 9, 12) for sub in entities[1:]
                 for e in _month_entries(rng, acc, m, ENTITIES[0][4], sub, True)[-1:]]
    journal_entries_post_bulk(actor=None, entity=parent, entries=parent_ic, source=EntrySource.IMPORT)
    lock_demo_periods(org)  # January–March 2026 locked for every entity, through the period services
    return org
