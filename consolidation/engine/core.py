"""One consolidation: translate, match intercompany, eliminate investments and unrealised
profit, attribute NCI, then sum, check and round once."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import ROUND_HALF_EVEN, Decimal, FloatOperation, localcontext

from consolidation.engine.eliminations import investment_eliminate, role_account, unrealised_profit_eliminate
from consolidation.engine.errors import ConsolidationUnbalancedError, EngineInputError
from consolidation.engine.fingerprint import fingerprint, fingerprint_sections
from consolidation.engine.intercompany import ic_match
from consolidation.engine.journal import EXACT_TOLERANCE
from consolidation.engine.nci import ic_postings_by_member, nci_eliminate, profit_effects
from consolidation.engine.ownership import ONE, structure_build
from consolidation.engine.result import ConsolidationResult
from consolidation.engine.rounding import apportion
from consolidation.engine.translation import RateBook, TranslatedMember, rate_kind, translate_member
from consolidation.engine.types import EngineInputs, Role, TBLine

PRECISION = 60  # significant digits: exact for every product of amounts and rates we meet

@contextmanager
def _exact() -> Iterator[None]:
    """The engine's arithmetic: 60 digits, half-even, no float mixed in (per thread: a thread
    starts from Python's default context)."""
    with localcontext() as ctx:
        ctx.prec, ctx.rounding = PRECISION, ROUND_HALF_EVEN
        ctx.traps[FloatOperation] = True  # no float may sneak into a Decimal
        yield


def consolidate(inputs: EngineInputs, *, fingerprinted: bool = True) -> ConsolidationResult:
    """``fingerprinted=False`` leaves the fingerprint empty for a caller that takes it itself with
    inputs_fingerprint() while it does other work."""
    with _exact():
        return _consolidate(inputs, fingerprinted)


def inputs_fingerprint(inputs: EngineInputs) -> tuple[str, dict[str, str]]:
    """(fingerprint, sections) of the inputs, exactly as consolidate() puts them in its result."""
    with _exact():
        sections = fingerprint_sections(inputs)
        return fingerprint(sections), sections


def _consolidate(inputs: EngineInputs, fingerprinted: bool) -> ConsolidationResult:
    structure = structure_build(inputs.members)
    accounts = {a.code: a for a in inputs.accounts}
    for m in inputs.members:
        if m.acquired_on and m.acquired_on > inputs.period_end:
            raise EngineInputError(f"Member {m.code} is acquired after the period end.")
    kinds = {code: rate_kind(a.type, a.role) for code, a in accounts.items()}
    by_member: dict[str, list[TBLine]] = defaultdict(list)
    for line in inputs.lines:
        if line.entity not in structure.members:
            raise EngineInputError(f"Trial balance line for {line.entity}, which is not a member.")
        if line.account not in accounts:
            raise EngineInputError(f"Trial balance of {line.entity}: account {line.account} is not in the group chart.")
        by_member[line.entity].append(line)

    book = RateBook(inputs.rates, inputs.group_currency)
    translated: dict[str, TranslatedMember] = {
        code: translate_member(structure.members[code], by_member[code], kinds, book, inputs.period_end)
        for code in structure.order
    }

    eliminations, differences = ic_match(translated, accounts, inputs.ic_tolerance)
    goodwill_by_member = {}
    for sub in structure.subsidiaries():
        elim = investment_eliminate(sub, structure, translated, accounts, inputs.adjustments, book)
        eliminations.append(elim)
        goodwill_by_member[sub] = {k: elim.details[k] for k in (
            "net_assets_at_acquisition", "cost_at_acquisition", "goodwill_at_acquisition", "goodwill_closing",
            "goodwill_fx", "nci_at_acquisition", "nci_share_of_cost")}
    eliminations.extend(unrealised_profit_eliminate(inputs.adjustments))
    nci_by_member = {}
    effects, ic_postings = profit_effects(eliminations, accounts), ic_postings_by_member(eliminations)
    for sub in structure.subsidiaries():
        if structure.effective[sub] == ONE:
            continue
        entries, summary = nci_eliminate(sub, structure, translated[sub], accounts, inputs.adjustments, effects,
                                         ic_postings)
        eliminations.extend(entries)
        gw = goodwill_by_member[sub]
        summary["at_acquisition"] = gw["nci_at_acquisition"] - gw["nci_share_of_cost"]
        summary["closing"] = (summary["at_acquisition"] + summary["nci_reserves"]
                              + summary["nci_profit"] + summary["nci_cta"] - summary["dividends_to_nci"])
        nci_by_member[sub] = summary

    cta_account = role_account(accounts, Role.CTA) if any(tm.cta for tm in translated.values()) else None
    exact_tb: dict[str, Decimal] = defaultdict(Decimal)
    for tm in translated.values():
        for account, amount in tm.account_totals.items():
            exact_tb[account] += amount
        if tm.cta:
            exact_tb[cta_account] += tm.cta
    for elim in eliminations:
        for p in elim.postings:
            exact_tb[p.account] += p.amount
    for manual in inputs.manual_adjustments:
        for account, amount in manual.lines:
            if account not in accounts:
                raise EngineInputError(
                    f"Manual adjustment {manual.entry}: account {account} is not in the group chart.")
            exact_tb[account] += amount
    total = sum(exact_tb.values(), Decimal(0))
    if abs(total) > EXACT_TOLERANCE:
        raise ConsolidationUnbalancedError(f"The consolidated trial balance sums to {total}, not zero.")
    tb, rounding = apportion(dict(exact_tb))
    if sum(tb.values(), Decimal(0)) != 0:
        raise ConsolidationUnbalancedError("The rounded consolidated trial balance does not sum to zero.")

    sections = fingerprint_sections(inputs) if fingerprinted else {}
    return ConsolidationResult(
        group_currency=inputs.group_currency, period_end=inputs.period_end.isoformat(), accounts=accounts,
        exact_tb=dict(exact_tb), tb=tb, rounding_adjustments=rounding, kinds=kinds, cta_account=cta_account,
        eliminations=eliminations, translated=translated, ic_differences=differences,
        effective_interest=dict(structure.effective), nci_by_member=nci_by_member,
        goodwill_by_member=goodwill_by_member, fingerprint=fingerprint(sections) if fingerprinted else "",
        fingerprint_sections=sections, members_order=structure.order,
        manual_adjustments=inputs.manual_adjustments,
    )
