"""Seed the throwaway database: one organisation, three entities, a chart, FY2026, one user with
an API token per client role, a consolidation group complete enough for runs to succeed, and a
source system (column mapping) for the importers. Runs in the runner's process once Django is set up."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

ORG_CODE = "REL"
ENTITY_CODES = ("REL-A", "REL-B", "REL-C")
# The periods the workload posts into and the controller closes, locks and reopens.
PERIOD_CODES = ("2026-01", "2026-02", "2026-03", "2026-04")
JOBS_USER = "rel-jobs"
IMPORTERS_USER = "importer"
SOURCE_SYSTEM_CODE = "RELERP"
# The importers' files: GL detail, one document per reference, signed amounts (debit positive).
IMPORT_MAPPING = {"kind": "gl_detail", "account": "Account", "amount": "Amount", "date": "Date",
                  "reference": "Reference", "description": "Description"}
# What consolidation needs beyond the test chart (code, name, type, parent, role); 3100/3200 get roles.
GROUP_ACCOUNTS = (("1500", "Investment in subsidiaries", "asset", "1000", "investment"),
                  ("1600", "Goodwill", "asset", "1000", "goodwill"),
                  ("3300", "Cumulative translation adjustment", "equity", "3000", "cta"),
                  ("3400", "Non-controlling interests", "equity", "3000", "nci"),
                  ("3500", "Profit attributable to NCI", "equity", "3000", "nci_profit"))
# Opening position on 2026-01-01 (EUR): REL-A paid 6,000 for REL-B (100 %) and 4,000 for 80 % of
# REL-C; each subsidiary's equity at acquisition is share capital 4,000 + retained earnings 1,000,
# so goodwill is 1,000 on REL-B and nil on REL-C, with NCI 1,000 (20 % of 5,000).
NET_ASSETS = (("3100", Decimal("-4000")), ("3200", Decimal("-1000")))
INVESTMENTS = (("REL-B", Decimal("6000")), ("REL-C", Decimal("4000")))


@dataclass
class Seeded:
    organisation_id: int
    entities: dict[str, int]
    entity_periods: dict[tuple[str, str], int]  # (entity code, period code) -> entity-period id
    group_id: int = 0  # consolidation group: REL-A owns REL-B (100 %) and REL-C (80 %)
    source_system_id: int = 0
    tokens: dict[str, str] = field(default_factory=dict)  # client name -> bearer token
    user_ids: dict[str, int] = field(default_factory=dict)


def seed(posters: int) -> Seeded:
    from django.contrib.auth import get_user_model
    from django.db.backends.postgresql.psycopg_any import DateRange

    from consolidation.models import ConsolidationGroup, GroupMember
    from ledger.imports.mapping import ColumnMapping
    from ledger.imports.models import SourceSystem
    from periods.models import EntityPeriod
    from periods.services.transitions import fiscal_year_generate
    from sheshi.access.roles import Role
    from sheshi.access.services.grants import role_grant
    from sheshi.access.services.memberships import membership_set
    from sheshi.access.services.tokens import api_token_issue
    from sheshi.db.context import system_context
    from sheshi.tenancy.models import Entity, Organisation
    from tests.ledger.helpers import build_chart

    user_model = get_user_model()
    with system_context("reliability-seed"):
        org = Organisation.objects.create(code=ORG_CODE, name="Reliability Group", group_currency="EUR")
        entities = [Entity.objects.create(organisation=org, code=code, name=f"Entity {code}",
                                          functional_currency="EUR", country="DE") for code in ENTITY_CODES]
        build_chart(org)
        fiscal_year_generate(organisation=org, year=2026)
        roles = {f"poster{i}": Role.PREPARER for i in range(posters)}
        roles.update({"controller": Role.CONTROLLER, "reader": Role.VIEWER, JOBS_USER: Role.PREPARER,
                      IMPORTERS_USER: Role.PREPARER})
        seeded = Seeded(organisation_id=org.pk, entities={e.code: e.pk for e in entities}, entity_periods={})
        for name, role in roles.items():
            user = user_model.objects.create_user(name, password=None)
            membership_set(actor=None, user=user, organisation=org)
            for entity in entities:
                role_grant(actor=None, user=user, entity=entity, role=role)
            scopes = ["read"] if role == Role.VIEWER else ["read", "write"]
            seeded.tokens[name] = api_token_issue(user=user, name=f"reliability {name}", scopes=scopes, days=1)[1]
            seeded.user_ids[name] = user.pk
        group = ConsolidationGroup.objects.create(organisation=org, code="RELG", name="Reliability group",
                                                  top_entity=entities[0])
        for entity, parent, pct in ((entities[0], None, None), (entities[1], entities[0], Decimal(100)),
                                    (entities[2], entities[0], Decimal(80))):
            GroupMember.objects.create(organisation=org, group=group, entity=entity, parent=parent,
                                       ownership_pct=pct, acquired_on=None if parent is None else date(2025, 1, 1),
                                       valid=DateRange(date(2025, 1, 1), None))
        seeded.group_id = group.pk
        _complete_group(org, group, {e.code: e for e in entities},
                        actor=user_model.objects.get(username=JOBS_USER))
        seeded.source_system_id = SourceSystem.objects.create(
            organisation=org, code=SOURCE_SYSTEM_CODE, name="Reliability ERP", kind=IMPORT_MAPPING["kind"],
            mapping=ColumnMapping.from_dict(IMPORT_MAPPING).as_dict()).pk
        for ep in EntityPeriod.objects.filter(organisation=org, period__code__in=PERIOD_CODES).select_related(
                "entity", "period"):
            seeded.entity_periods[(ep.entity.code, ep.period.code)] = ep.pk
    return seeded


def _complete_group(org, group, entities: dict, *, actor) -> None:
    """Roles on the chart, the opening investments and equity, and each subsidiary's net assets at
    acquisition: what a run needs to succeed (without them it fails with net_assets_missing)."""
    from consolidation.models import AcquisitionAdjustment, AdjustmentKind, AdjustmentLine
    from ledger.inputs import EntryInput, LineInput
    from ledger.models import Account, AccountKind
    from ledger.services.entries import journal_entry_create_and_post

    chart = {a.code: a for a in Account.objects.filter(organisation=org)}
    for code, name, typ, parent, role in GROUP_ACCOUNTS:
        chart[code] = Account.objects.create(organisation=org, code=code, name=name, type=typ,
                                             kind=AccountKind.POSTING, parent=chart[parent], role=role,
                                             normal_balance="debit" if typ == "asset" else "credit")
    for code, role in (("3100", "share_capital"), ("3200", "retained_earnings")):
        chart[code].role = role
        chart[code].save(update_fields=["role", "updated_at"])
    opening = {"REL-A": [LineInput(account_id=chart["1500"].pk, amount=cost, counterparty_id=entities[sub].pk)
                         for sub, cost in INVESTMENTS]}
    opening["REL-A"].append(LineInput(account_id=chart["3100"].pk, amount=-sum(c for _, c in INVESTMENTS)))
    for sub, _ in INVESTMENTS:
        opening[sub] = [LineInput(account_id=chart["1100"].pk, amount=-sum(a for _, a in NET_ASSETS))]
        opening[sub] += [LineInput(account_id=chart[code].pk, amount=amount) for code, amount in NET_ASSETS]
        adj = AcquisitionAdjustment.objects.create(organisation=org, group=group, kind=AdjustmentKind.NET_ASSETS,
                                                   entity=entities[sub])
        AdjustmentLine.objects.bulk_create(AdjustmentLine(organisation=org, adjustment=adj, account=chart[code],
                                                          amount=amount) for code, amount in NET_ASSETS)
    for code, lines in opening.items():
        journal_entry_create_and_post(actor=actor, entity=entities[code], entry=EntryInput(
            entry_date=date(2026, 1, 1), description=f"opening position of {code}", lines=lines))
