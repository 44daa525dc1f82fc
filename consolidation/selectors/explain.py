"""Explain a stored run: rebuild any consolidated account's components from the run's compact
results (member balances, translation differences, elimination postings), for the API, the admin
and the board pack. Same shape as ConsolidationResult.explain()."""
from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from consolidation.engine.result import num
from consolidation.engine.rounding import r2

RATE_KEYS = {"c": "closing_rate", "a": "average_rate", "h": "historical_rate"}
MEMBER_SOURCES = ("trial_balance", "translation_difference")


def _amount(exact: Decimal) -> dict[str, str]:
    d = {"amount": str(r2(exact))}
    if r2(exact) != exact:
        d["exact"] = num(exact)
    return d


def account_components(results: dict[str, Any], account: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    translation = results["translation"]
    for entity in results["members_order"]:
        balances = results["member_balances"][entity]
        if account in balances:
            local, amount, kind = balances[account]
            out.append({"entity": entity, "source": "trial_balance", "ref": entity, **_amount(Decimal(amount)),
                        "local_amount": num(Decimal(local)),
                        "rate": num(Decimal(translation[entity][RATE_KEYS[kind]]))})
        if account == results.get("cta_account") and Decimal(translation[entity]["cta_exact"] or "0"):
            out.append({"entity": entity, "source": "translation_difference", "ref": entity,
                        **_amount(Decimal(translation[entity]["cta_exact"]))})
    for elim in results["eliminations"]:
        for p in elim["postings"]:
            if p["account"] == account:
                out.append({"entity": p["entity"], "source": elim["kind"], "ref": elim["ref"],
                            **_amount(Decimal(p.get("exact", p["amount"])))})
    for adj in results.get("manual_adjustments", []):
        for acc, amount in adj["lines"]:
            if acc == account:
                out.append({"entity": "", "source": "manual_adjustment", "ref": adj["entry"],
                            **_amount(Decimal(amount))})
    return out


def member_columns(results: dict[str, Any]) -> dict[str, dict[str, Decimal]]:
    """account -> column -> exact amount; columns are member codes (translated balance plus its
    translation difference) and elimination kinds."""
    cols: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for entity, balances in results["member_balances"].items():
        for account, (_, amount, _) in balances.items():
            cols[account][entity] += Decimal(amount)
        cta = Decimal(results["translation"][entity]["cta_exact"] or "0")
        if cta:
            cols[results["cta_account"]][entity] += cta
    for elim in results["eliminations"]:
        for p in elim["postings"]:
            cols[p["account"]][elim["kind"]] += Decimal(p.get("exact", p["amount"]))
    for adj in results.get("manual_adjustments", []):
        for account, amount in adj["lines"]:
            cols[account]["manual_adjustment"] += Decimal(amount)
    return cols
