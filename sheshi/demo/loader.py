"""Build the demo group through the normal services: an organisation, a parent and three
subsidiaries in three currencies, users in every role, a group chart, FY2026, and a year of books
imported through the import path (ledger/imports) from the ERP export files shipped in
sheshi/demo/files/ — one GL-detail file per entity per month, each a posted import batch, so every
demo figure drills down to its source file row. The UK company keeps a local chart (Sage nominal
codes) mapped to the group chart. Deterministic: the files come from a fixed seed (make_files.py)."""
from __future__ import annotations

from datetime import date

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from psycopg.types.range import Range

from consolidation.demo import load_demo_group
from ledger.imports.mapping import ColumnMapping
from ledger.imports.models import ImportStatus, SourceSystem
from ledger.imports.services import import_batch_create, import_batch_run
from ledger.models import Account, AccountRole, LocalAccountMapping
from periods.demo import demo_close_checklist, lock_demo_periods
from periods.models import Period
from periods.services.transitions import fiscal_year_generate
from sheshi.access.roles import Role
from sheshi.access.services.grants import role_grant
from sheshi.access.services.memberships import membership_set, user_groups_set
from sheshi.demo.chart import GROUP_CHART, UK_LOCAL_CHART
from sheshi.demo.make_files import ENTITIES, FILES, YEAR, file_name
from sheshi.demo.sources import SOURCE_FOR_ENTITY, SOURCE_SYSTEMS
from sheshi.tenancy.models import Entity, Organisation

ORG_CODE = "DEMO"
# Printed by `make run`; demo data only (load_demo refuses to run with DEBUG off).
DEMO_PASSWORD = "sheshi-demo-2026"  # noqa: S105
USERS = [
    # username, role on every entity (None: no entity role), staff, superuser
    ("admin", None, True, True),
    ("controller", Role.CONTROLLER, True, False),
    ("preparer", Role.PREPARER, True, False),
    ("approver", Role.APPROVER, True, False),
    ("auditor", Role.AUDITOR, True, False),
    ("viewer", Role.VIEWER, False, False),
]


class DemoImportError(RuntimeError):
    """A shipped demo file did not post: the files and the loader disagree (a bug, not data)."""


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


def _local_chart(entity: Entity, accounts: dict[str, Account]) -> None:
    for local, name, group in UK_LOCAL_CHART:
        LocalAccountMapping.objects.create(organisation_id=entity.organisation_id, entity=entity, local_code=local,
                                           local_name=name, account=accounts[group],
                                           valid=Range(date(YEAR, 1, 1), None))


def _import_books(org: Organisation, entities: list[Entity], stdout=None) -> None:
    """Every shipped file through the import services: one posted batch per entity and month."""
    sources = {code: SourceSystem.objects.create(organisation=org, code=code, name=name, kind=str(mapping.kind),
                                                 mapping=mapping.as_dict())
               for code, name, mapping, _entities in SOURCE_SYSTEMS}
    periods = {p.number: p for p in Period.objects.filter(organisation=org, fiscal_year__start_date__year=YEAR,
                                                            number__lte=12)}
    for entity in entities:
        source = sources[SOURCE_FOR_ENTITY[entity.code]]
        mapping = ColumnMapping.from_dict(source.mapping)
        rows = 0
        for month in range(1, 13):
            name = file_name(entity.code, month)
            with (FILES / name).open("rb") as fh:
                batch = import_batch_create(actor=None, entity=entity, period=periods[month], stream=fh,
                                            filename=name, mapping=mapping, source_system=source)
            batch = import_batch_run(actor=None, batch_id=batch.pk)
            if batch.status != ImportStatus.POSTED:
                raise DemoImportError(f"{name}: {batch.status}: {batch.errors[:5]}")
            rows += batch.row_count
        if stdout:
            stdout.write(f"  {entity.code}: 12 files imported from {source.code} exports, {rows} rows posted")


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
    fiscal_year_generate(organisation=org, year=YEAR)
    User = get_user_model()
    groups = _admin_groups()
    for username, role, staff, superuser in USERS:
        user = User.objects.filter(username=username).first() or User(username=username)
        user.is_staff, user.is_superuser, user.email = staff, superuser, f"{username}@demo.sheshi.test"
        user.set_password(DEMO_PASSWORD)
        user.save()
        user_groups_set(actor=None, user=user, groups=[
            *user.groups.all(), groups["controllers"] if role == Role.CONTROLLER else groups["readers"]])
        membership_set(actor=None, user=user, organisation=org, is_org_admin=superuser or role == Role.CONTROLLER)
        if role is not None:
            for entity in entities:
                role_grant(actor=None, user=user, entity=entity, role=role)
    _local_chart(next(e for e in entities if e.code == "UK"), acc)
    _import_books(org, entities, stdout)
    load_demo_group(org, users={u.username: u for u in User.objects.filter(username__in=[n for n, *_ in USERS])},
                    stdout=stdout)
    lock_demo_periods(org)  # January–March 2026 locked for every entity (the consolidation ledger too)
    demo_close_checklist(org, entities)  # April's close tasks from the month-end template
    return org
