"""Seed the throwaway database: one organisation, three entities, a chart, FY2026, and one user
with an API token per client role. Runs in the runner's process once Django is set up."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

ORG_CODE = "REL"
ENTITY_CODES = ("REL-A", "REL-B", "REL-C")
# The periods the workload posts into and the controller closes, locks and reopens.
PERIOD_CODES = ("2026-01", "2026-02", "2026-03", "2026-04")
JOBS_USER = "rel-jobs"


@dataclass
class Seeded:
    organisation_id: int
    entities: dict[str, int]
    entity_periods: dict[tuple[str, str], int]  # (entity code, period code) -> entity-period id
    group_id: int = 0  # consolidation group: REL-A owns REL-B (100 %) and REL-C (80 %)
    tokens: dict[str, str] = field(default_factory=dict)  # client name -> bearer token
    user_ids: dict[str, int] = field(default_factory=dict)


def seed(posters: int) -> Seeded:
    from django.contrib.auth import get_user_model
    from django.db.backends.postgresql.psycopg_any import DateRange

    from consolidation.models import ConsolidationGroup, GroupMember
    from periods.models import EntityPeriod
    from periods.services import fiscal_year_generate
    from sheshi.access.roles import Role
    from sheshi.access.services import role_grant
    from sheshi.access.tokens import api_token_issue
    from sheshi.db.context import system_context
    from sheshi.tenancy.models import Entity, Membership, Organisation
    from tests.ledger.helpers import build_chart

    user_model = get_user_model()
    with system_context("reliability-seed"):
        org = Organisation.objects.create(code=ORG_CODE, name="Reliability Group", group_currency="EUR")
        entities = [Entity.objects.create(organisation=org, code=code, name=f"Entity {code}",
                                          functional_currency="EUR", country="DE") for code in ENTITY_CODES]
        build_chart(org)
        fiscal_year_generate(organisation=org, year=2026)
        roles = {f"poster{i}": Role.PREPARER for i in range(posters)}
        roles.update({"controller": Role.CONTROLLER, "reader": Role.VIEWER, JOBS_USER: Role.PREPARER})
        seeded = Seeded(organisation_id=org.pk, entities={e.code: e.pk for e in entities}, entity_periods={})
        for name, role in roles.items():
            user = user_model.objects.create_user(name, password=None)
            Membership.objects.create(user=user, organisation=org)
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
        for ep in EntityPeriod.objects.filter(organisation=org, period__code__in=PERIOD_CODES).select_related(
                "entity", "period"):
            seeded.entity_periods[(ep.entity.code, ep.period.code)] = ep.pk
    return seeded
