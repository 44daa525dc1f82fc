"""Inputs fingerprint: sha256 over a canonical serialisation of every input the engine uses.

Canonical means independent of input order and of how a number is written ("100.00" and "100"
are the same amount); TB lines are aggregated per (entity, account, counterparty) and zero
balances dropped, since neither changes a result. Section hashes let a re-run say which inputs
changed (members, chart, one member's TB, rates, adjustments).
"""
from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from decimal import Decimal

from consolidation.engine.types import EngineInputs

ENGINE_VERSION = "1"


def canon(value: Decimal | None) -> str | None:
    """Fixed-point text without trailing zeros: 100, 100.00 and 1E+2 all give "100"."""
    if value is None:
        return None
    if not value:
        return "0"
    text = str(value)  # fixed-point already unless the exponent is large either way (2x faster than format)
    if "E" in text or "e" in text:
        text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _digest(obj) -> str:
    payload = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def fingerprint_sections(inputs: EngineInputs) -> dict[str, str]:
    members = sorted([m.code, m.functional_currency, m.parent, canon(m.ownership_pct),
                      m.acquired_on.isoformat() if m.acquired_on else None] for m in inputs.members)
    accounts = sorted([a.code, str(a.type), a.ic, str(a.role) if a.role else None, a.ic_pair]
                      for a in inputs.accounts)
    balances: dict[str, dict[tuple[str, str], Decimal]] = defaultdict(dict)
    zero = Decimal(0)
    for line in inputs.lines:
        tb = balances[line.entity]
        key = (line.account, line.counterparty or "")
        tb[key] = tb.get(key, zero) + line.amount
    rates = sorted([r.from_ccy, r.to_ccy, str(r.type), r.on.isoformat(), canon(r.rate)] for r in inputs.rates)
    adj = inputs.adjustments
    adjustments = {
        "net_assets": sorted([a.entity, sorted([acc, canon(v)] for acc, v in a.lines)] for a in adj.net_assets),
        "pre_acquisition_pl": sorted([a.entity, sorted([acc, canon(v)] for acc, v in a.lines)]
                                     for a in adj.pre_acquisition_pl),
        "unrealised_profit": sorted([u.seller, u.buyer, canon(u.amount), u.inventory_account, u.cogs_account]
                                    for u in adj.unrealised_profit),
    }
    sections = {
        "engine": _digest([ENGINE_VERSION, inputs.group_currency, inputs.period_end.isoformat(),
                           canon(inputs.ic_tolerance)]),
        "members": _digest(members),
        "accounts": _digest(accounts),
        "rates": _digest(rates),
        "adjustments": _digest(adjustments),
    }
    if inputs.manual_adjustments:  # only when there are any: earlier runs' fingerprints stay as they were
        sections["manual_adjustments"] = _digest(sorted(
            [m.entry, sorted([acc, canon(v)] for acc, v in m.lines)] for m in inputs.manual_adjustments))
    for entity in sorted(balances):
        # sorted by (account, counterparty), unique per member: the same order as sorting the rows
        tb = balances[entity]
        rows = [[acc, cp, canon(tb[acc, cp])] for acc, cp in sorted(tb) if tb[acc, cp] != 0]
        sections[f"tb:{entity}"] = _digest(rows)
    return sections


def fingerprint(sections: dict[str, str]) -> str:
    return _digest(sections)


def changed_sections(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """Names of the input sections that differ between two runs (added, removed or changed)."""
    return sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
