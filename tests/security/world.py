"""The authorisation matrix's world: two organisations, three entities, one user per role.

    organisation A ── entity A1  "own"    every role-holder holds their role here, and only here
                   └─ entity A2  "other"  same organisation, nobody in the matrix holds a role
    organisation B ── entity B1  "foreign"

Callers: one user per role on A1 (viewer, preparer, approver, controller, auditor, org_admin —
the org admin is also ``Membership.is_org_admin`` of A), ``member`` (a member of A with no role)
and ``anonymous``.

Every object is created through services (or the factories the services' own tests use), once per
scope, and kept in ``world.objects[kind][scope]`` — a primary key, or a code where the API takes
codes. Endpoints in tests/security/expectations.py name the kind they act on.

To add a kind (for a new app's objects): write ``def build_<kind>(world: World) -> None`` that
creates one object per scope and stores it with ``world.put(kind, scope, value)``, and append it
to ``BUILDERS`` below. Builders run in order, inside one transaction per test module, as the
system actor in the all-organisations scope.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sheshi.access.services.grants import role_grant
from sheshi.tenancy.models import Entity, Organisation
from tests.factories import EntityFactory, OrganisationFactory, UserFactory, member

OWN, OTHER, FOREIGN = "own", "other", "foreign"
SCOPES = (OWN, OTHER, FOREIGN)
ROLES = ("viewer", "preparer", "approver", "controller", "auditor", "org_admin")
MEMBER, ANONYMOUS = "member", "anonymous"
CALLERS = (*ROLES, MEMBER, ANONYMOUS)
PERIOD = "2026-03"
ENTRY_DATE = date(2026, 3, 15)


@dataclass
class World:
    orgs: dict[str, Organisation]  # scope -> organisation (own and other share organisation A)
    entities: dict[str, Entity]  # scope -> entity
    users: dict[str, object] = field(default_factory=dict)  # caller -> user (no anonymous)
    objects: dict[str, dict[str, object]] = field(default_factory=dict)

    def put(self, kind: str, scope: str, value) -> None:
        self.objects.setdefault(kind, {})[scope] = value

    def get(self, kind: str, scope: str):
        try:
            return self.objects[kind][scope]
        except KeyError:
            raise KeyError(f"The matrix world has no '{kind}' for scope '{scope}': add a builder in "
                           "tests/security/world.py") from None


def build_tenancy(world: World) -> None:
    for scope in SCOPES:
        world.put("organisation", scope, world.orgs[scope].pk)
        world.put("entity", scope, world.entities[scope].pk)
        world.put("entity_code", scope, world.entities[scope].code)


def build_ledger(world: World) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from ledger.inputs import EntryInput, LineInput
    from ledger.services import entries as services
    from ledger.services.attachments import journal_entry_attachment_add
    from ledger.services.templates import journal_template_create
    from periods.services.transitions import fiscal_year_generate
    from tests.ledger.helpers import build_chart

    charts = {}
    for org in {world.orgs[s].pk: world.orgs[s] for s in SCOPES}.values():
        charts[org.pk] = build_chart(org)
        fiscal_year_generate(organisation=org, year=2026)
    for scope in SCOPES:
        entity = world.entities[scope]
        accounts = charts[entity.organisation_id]
        world.put("account", scope, accounts["1200"].pk)

        def entry(description: str):
            return services.journal_entry_create(actor=None, entity=entity, entry=EntryInput(
                entry_date=ENTRY_DATE, description=description, lines=[
                    LineInput(account_id=accounts["1200"].pk, amount=Decimal("100.0000")),
                    LineInput(account_id=accounts["4100"].pk, amount=Decimal("-100.0000"))])).entry.pk

        world.put("entry_draft", scope, entry("matrix draft"))
        submitted = entry("matrix submitted")
        services.journal_entry_submit(actor=None, entry_id=submitted)
        world.put("entry_submitted", scope, submitted)
        posted = entry("matrix posted")
        services.journal_entry_post(actor=None, entry_id=posted)
        world.put("entry_posted", scope, posted)
        world.put("journal_template", scope, journal_template_create(actor=None, entry_id=posted,
                                                                     name="matrix template").pk)
        world.put("journal_attachment", scope, journal_entry_attachment_add(
            actor=None, entry_id=posted, upload=SimpleUploadedFile(f"matrix-{scope}.pdf", f"%PDF {scope}".encode(),
                                                                   content_type="application/pdf")).pk)


def build_recurrences(world: World) -> None:
    """A monthly recurrence of each entity's template from PERIOD, owned by a preparer who is none
    of the callers (so a caller's generate never drafts as the caller)."""
    from ledger.services.recurring import journal_recurrence_create
    from periods.models import Period

    owner = UserFactory(username="mx_recurrer")
    for org in (world.orgs[OWN], world.orgs[FOREIGN]):
        member(owner, org)
    for scope in SCOPES:
        role_grant(actor=None, user=owner, entity=world.entities[scope], role="preparer")
        start = Period.objects.get(organisation=world.orgs[scope], code=PERIOD)
        world.put("journal_recurrence", scope, journal_recurrence_create(
            actor=owner, template_id=world.get("journal_template", scope), start_period_id=start.pk).pk)


def build_bank_details(world: World) -> None:
    from sheshi.security.services import entity_bank_details_set

    for scope in SCOPES:
        details = entity_bank_details_set(actor=None, entity=world.entities[scope], iban="DE89370400440532013000",
                                          tax_id=f"DE{123456780 + len(scope)}", bic="COBADEFFXXX")
        world.put("bank_details", scope, details.pk)


def build_periods(world: World) -> None:
    """Fiscal year and period (organisation-wide), and per entity: 2026-03 open (holds the
    matrix entries), 2026-01 open and empty (can be closed and locked: it is the entity's first
    month, and months lock oldest first), 2026-06 soft-closed."""
    from periods.models import EntityPeriod, FiscalYear, Period
    from periods.services.transitions import entity_period_soft_close

    for scope in SCOPES:
        org, entity = world.orgs[scope], world.entities[scope]
        world.put("fiscal_year", scope, FiscalYear.objects.get(organisation=org, code="FY2026").pk)
        world.put("period", scope, Period.objects.get(organisation=org, code=PERIOD).pk)
        eps = {ep.period.code: ep for ep in EntityPeriod.objects.select_related("period").filter(entity=entity)}
        world.put("entity_period", scope, eps[PERIOD].pk)
        world.put("entity_period_empty", scope, eps["2026-01"].pk)
        entity_period_soft_close(actor=None, entity_period_id=eps["2026-06"].pk, reason="matrix")
        world.put("entity_period_closed", scope, eps["2026-06"].pk)


def build_checklist(world: World) -> None:
    """A close checklist template per organisation (own and other share A's) and, per entity, its
    task in 2026-03 (open, unassigned)."""
    from periods.services.checklist import checklist_instantiate, checklist_template_create

    templates = {org.pk: checklist_template_create(actor=None, organisation=org, name="Matrix close",
                                                   items=[{"title": "Bank reconciled"}])
                 for org in (world.orgs[OWN], world.orgs[FOREIGN])}
    for scope in SCOPES:
        template = templates[world.orgs[scope].pk]
        world.put("checklist_template", scope, template.pk)
        task = checklist_instantiate(actor=None, entity_period_id=world.get("entity_period", scope),
                                     template_id=template.pk)[0]
        world.put("checklist_task", scope, task.pk)


def build_reconciliations(world: World) -> None:
    """A prepared reconciliation per entity, signed by a maker who is none of the callers."""
    from ledger.selectors.books import account_closing_figures
    from periods.models import EntityPeriod
    from periods.services.reconciliation import reconciliation_prepare

    maker = UserFactory(username="mx_maker")
    for org in (world.orgs[OWN], world.orgs[FOREIGN]):
        member(maker, org)
    for scope in SCOPES:
        role_grant(actor=None, user=maker, entity=world.entities[scope], role="controller")
        ep = EntityPeriod.objects.get(pk=world.get("entity_period", scope))
        gl = account_closing_figures(entity_id=ep.entity_id, period_id=ep.period_id,
                                     account_id=world.get("account", scope))[0]
        rec = reconciliation_prepare(actor=maker, entity_period_id=ep.pk, account_id=world.get("account", scope),
                                     statement_balance=gl, note="matrix")
        world.put("reconciliation", scope, rec.pk)


def build_consolidation(world: World) -> None:
    """A group topped by each entity and a requested run (still queued: jobs run on commit, and
    the world's transaction never commits)."""
    from consolidation.services.posting import elimination_ledger_ensure
    from consolidation.services.runs import adjustment_record, consolidation_group_create, consolidation_run_request
    from ledger.models import Account
    from periods.models import Period

    for scope in SCOPES:
        entity = world.entities[scope]
        group = consolidation_group_create(actor=None, organisation=world.orgs[scope], code=f"G{entity.code}",
                                           name=f"Group {entity.code}", top_entity=entity)
        world.put("consolidation_group", scope, group.pk)
        elimination_ledger_ensure(group_id=group.pk)  # its consolidation ledger: nobody holds a role there
        world.put("holding", scope, group.members.get(entity=entity).pk)
        fact = adjustment_record(actor=None, group=group, kind="net_assets_at_acquisition", entity=entity,
                                 lines=[(Account.objects.get(organisation=entity.organisation, code="1200"),
                                         Decimal("100.0000"))])
        world.put("acquisition_fact", scope, fact.pk)
        run = consolidation_run_request(actor=None, group=group,
                                        period=Period.objects.get(pk=world.get("period", scope)))
        world.put("consolidation_run", scope, run.pk)


def build_ic_worklist(world: World) -> None:
    """A worklist row per scope, as a succeeded run would leave it (the world's run stays queued):
    the entity's 1200 against its own 2100, so it is visible exactly with the entity."""
    from consolidation.models import ConsolidationRun
    from consolidation.services.runs import ic_worklist_sync

    for scope in SCOPES:
        run = ConsolidationRun.objects.get(pk=world.get("consolidation_run", scope))
        code = world.entities[scope].code
        run.results = {"ic_differences": [{"entity": code, "account": "1200", "counterparty": code,
                                           "counterparty_account": "2100", "entity_amount": "300.00",
                                           "counterparty_amount": "-250.00", "difference": "50.00",
                                           "eliminated": "250.00"}]}
        world.put("ic_difference", scope, ic_worklist_sync(run=run)[0].pk)


def build_fx_rates(world: World) -> None:
    """A closing rate per organisation (own and other share A's): rates are organisation-wide."""
    from consolidation.services.runs import fx_rate_create

    rates = {org.pk: fx_rate_create(actor=None, organisation=org, from_currency="USD", to_currency="EUR",
                                    rate_type="closing", rate_date=date(2026, 3, 31), rate=Decimal("0.9100"))
             for org in (world.orgs[OWN], world.orgs[FOREIGN])}
    for scope in SCOPES:
        world.put("fx_rate", scope, rates[world.orgs[scope].pk].pk)


IMPORT_MAPPING = {"kind": "trial_balance", "account": "Account", "debit": "Debit", "credit": "Credit",
                  "description": "Name"}


def import_csv(amount: str) -> bytes:
    """A two-line trial balance on group accounts 1100/4100 (not 1200: the world's reconciliation
    is of 1200, and an import must not move the balance it was signed against)."""
    return f"Account,Name,Debit,Credit\n1100,Cash,{amount},\n4100,Sales,,{amount}\n".encode()


def build_imports(world: World) -> None:
    """A source system per organisation (own and other share A's) and, per entity, a batch
    uploaded through the import service and posted into 2026-03."""
    import io

    from ledger.imports.mapping import ColumnMapping
    from ledger.imports.models import ImportStatus
    from ledger.imports.services import import_batch_upload, source_system_create
    from periods.models import Period

    mapping = ColumnMapping.from_dict(IMPORT_MAPPING)
    sources = {}
    for org in (world.orgs[OWN], world.orgs[FOREIGN]):
        sources[org.pk] = source_system_create(actor=None, organisation_id=org.pk, code=f"SRC{org.code}",
                                               name=f"ERP {org.code}", mapping=mapping)
    for scope in SCOPES:
        entity = world.entities[scope]
        source = sources[entity.organisation_id]
        world.put("source_system", scope, source.pk)
        period = Period.objects.get(pk=world.get("period", scope))
        result = import_batch_upload(actor=None, entity=entity, period=period, stream=io.BytesIO(import_csv("250.00")),
                                     filename="matrix_tb.csv", mapping=mapping, source_system=source)
        if result.queued or result.batch.status != ImportStatus.POSTED:
            raise AssertionError(f"The matrix import for {entity.code} did not post: {result.batch.errors}")
        world.put("import_batch", scope, result.batch.pk)


def build_api_tokens(world: World) -> None:
    """An API token of a member of A who is none of the callers: tokens are per user, not per
    entity, so it stands for "someone else's token" in every scope."""
    from sheshi.access.services.tokens import api_token_issue

    owner = UserFactory(username="mx_token_owner")
    member(owner, world.orgs[OWN])
    token, _ = api_token_issue(user=owner, name="matrix", scopes=["read"])
    for scope in SCOPES:
        world.put("api_token", scope, token.pk)


BUILDERS: list[Callable[[World], None]] = [build_tenancy, build_ledger, build_recurrences, build_bank_details,
                                           build_periods, build_checklist, build_reconciliations, build_consolidation,
                                           build_ic_worklist, build_fx_rates, build_imports, build_api_tokens]


def build_world() -> World:
    org_a = OrganisationFactory(code="MXA", name="Matrix A")
    org_b = OrganisationFactory(code="MXB", name="Matrix B")
    a1 = EntityFactory(organisation=org_a, code="MXA1", functional_currency="EUR", country="DE")
    a2 = EntityFactory(organisation=org_a, code="MXA2", functional_currency="USD", country="US")
    b1 = EntityFactory(organisation=org_b, code="MXB1", functional_currency="EUR", country="FR")
    world = World(orgs={OWN: org_a, OTHER: org_a, FOREIGN: org_b}, entities={OWN: a1, OTHER: a2, FOREIGN: b1})
    for role in ROLES:
        user = UserFactory(username=f"mx_{role}")
        member(user, org_a, org_admin=role == "org_admin")
        role_grant(actor=None, user=user, entity=a1, role=role)
        world.users[role] = user
    world.users[MEMBER] = UserFactory(username="mx_member")
    member(world.users[MEMBER], org_a)
    for builder in BUILDERS:
        builder(world)
    return world
