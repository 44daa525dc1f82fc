"""Load a group pack into a new organisation through the normal services: organisation, entities,
group chart, posted trial-balance journals (one per member, dated on the period end), rates,
holdings and adjustments. All or nothing: a malformed pack is refused before anything is written,
and any later refusal rolls everything back."""
from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from consolidation.models import AdjustmentKind, ConsolidationGroup
from consolidation.pack import GroupPack, pack_parse
from consolidation.services import runs as services
from ledger.inputs import EntryInput, LineInput
from ledger.models import Account, EntrySource
from ledger.services.bulk import journal_entries_post_bulk
from ledger.services.chart import account_create
from periods.models import Period
from periods.services.transitions import fiscal_year_generate
from sheshi.errors import FieldError, ValidationFailed
from sheshi.tenancy.models import Entity, Organisation

DEFAULT_COUNTRY = "ZZ"  # ISO 3166 user-assigned: the pack does not carry countries


@dataclass(frozen=True)
class LoadResult:
    organisation: Organisation
    group: ConsolidationGroup
    period: Period
    entities: int
    accounts: int
    lines: int


def group_pack_load(*, source, org_code: str, actor=None, group_code: str = "GROUP") -> LoadResult:
    pack = pack_parse(source)  # raises with every problem before anything is written
    if Organisation.objects.filter(code=org_code).exists():
        raise ValidationFailed("The organisation already exists.",
                               errors=[FieldError("org", "An organisation with this code exists.", value=org_code)])
    return _load(pack, org_code, actor, group_code)


@transaction.atomic
def _load(pack: GroupPack, org_code: str, actor, group_code: str) -> LoadResult:
    inputs = pack.inputs
    org = Organisation.objects.create(code=org_code, name=pack.name, group_currency=inputs.group_currency,
                                      fiscal_year_start_month=1)
    entities = {m.code: Entity.objects.create(organisation=org, code=m.code, name=m.name or m.code,
                                              functional_currency=m.functional_currency, country=DEFAULT_COUNTRY)
                for m in inputs.members}
    for a in inputs.accounts:  # first without pairs, then the pairs (they refer to each other)
        account_create(actor=actor, organisation_id=org.pk, code=a.code, name=a.name or a.code, type=str(a.type),
                       is_intercompany=a.ic, role=str(a.role) if a.role else "")
    accounts = {a.code: a for a in Account.objects.filter(organisation=org)}
    for a in inputs.accounts:
        if a.ic_pair:
            acc = accounts[a.code]
            acc.ic_pair = accounts[a.ic_pair]
            acc.save(update_fields=["ic_pair", "updated_at"])
    fiscal_year_generate(organisation=org, year=inputs.period_end.year)
    period = Period.objects.get(organisation=org, code=pack.period)

    by_entity: dict[str, list[LineInput]] = {code: [] for code in entities}
    for line in inputs.lines:
        if line.amount == 0:
            continue
        by_entity[line.entity].append(LineInput(
            account_id=accounts[line.account].pk, amount=line.amount,
            counterparty_id=entities[line.counterparty].pk if line.counterparty else None))
    for code, lines in by_entity.items():
        if lines:
            journal_entries_post_bulk(actor=actor, entity=entities[code], source=EntrySource.IMPORT, entries=[
                EntryInput(entry_date=inputs.period_end, period_id=period.pk, lines=lines,
                           description=f"Group pack {pack.name}: trial balance {pack.period}")])

    top = next(m for m in inputs.members if m.parent is None)
    group = services.consolidation_group_create(actor=actor, organisation=org, code=group_code, name=pack.name,
                                                top_entity=entities[top.code])
    for m in inputs.members:
        if m.parent is not None:
            services.group_member_add(actor=actor, group=group, entity=entities[m.code], parent=entities[m.parent],
                                      ownership_pct=m.ownership_pct, acquired_on=m.acquired_on)
    for r in inputs.rates:
        services.fx_rate_create(actor=actor, organisation=org, from_currency=r.from_ccy, to_currency=r.to_ccy,
                                rate_type=str(r.type), rate_date=r.on, rate=r.rate, source="group pack")
    adj = inputs.adjustments
    for na in adj.net_assets:
        services.adjustment_record(actor=actor, group=group, kind=AdjustmentKind.NET_ASSETS, entity=entities[na.entity],
                                   lines=[(accounts[c], v) for c, v in na.lines])
    for pre in adj.pre_acquisition_pl:
        services.adjustment_record(actor=actor, group=group, kind=AdjustmentKind.PRE_ACQUISITION_PL,
                                   entity=entities[pre.entity], lines=[(accounts[c], v) for c, v in pre.lines])
    for u in adj.unrealised_profit:
        services.adjustment_record(actor=actor, group=group, kind=AdjustmentKind.UNREALISED_PROFIT,
                                   entity=entities[u.seller], buyer=entities[u.buyer], amount=u.amount, period=period,
                                   inventory_account=accounts[u.inventory_account],
                                   cogs_account=accounts[u.cogs_account])
    return LoadResult(organisation=org, group=group, period=period, entities=len(entities), accounts=len(accounts),
                      lines=sum(len(v) for v in by_entity.values()))
