"""A synthetic group for the consolidation benchmark: N entities x A accounts x 5 currencies, with
about 1% of each member's TB lines intercompany (mirrored in the counterparty's TB). Deterministic
for a given seed. Produces a group pack (issue 8 format), so the same case feeds the engine bench
and the end-to-end run."""
from __future__ import annotations

import random
from decimal import Decimal

CURRENCIES = ("EUR", "USD", "GBP", "CHF", "JPY")
RATES = {  # EUR per one unit: closing, average, historical
    "USD": ("0.92", "0.91", "0.89"), "GBP": ("1.17", "1.16", "1.14"), "CHF": ("1.05", "1.03", "1.01"),
    "JPY": ("0.0062", "0.0064", "0.0069"),
}
ROLE_ACCOUNTS = [
    ("R1500", "Investments in subsidiaries", "asset", False, "investment", None),
    ("R1600", "Goodwill", "asset", False, "goodwill", None),
    ("R3000", "Share capital", "equity", False, "share_capital", None),
    ("R3100", "Retained earnings", "equity", False, "retained_earnings", None),
    ("R3200", "Dividends", "equity", True, "dividends", "R4200"),
    ("R4200", "Dividend income", "revenue", True, None, "R3200"),
    ("R3300", "CTA", "equity", False, "cta", None),
    ("R3400", "NCI", "equity", False, "nci", None),
    ("R3500", "Profit attributable to NCI", "equity", False, "nci_profit", None),
    ("R1000", "Cash", "asset", False, None, None),
]
IC_PAIRS = 10  # receivable/payable-style pairs: 20 IC accounts


def _account(code: str, name: str, type_: str, ic: bool = False, role: str | None = None,
             ic_pair: str | None = None) -> dict:
    return {"code": code, "name": name, "type": type_, "ic": ic, "role": role, "ic_pair": ic_pair}


def chart(n_accounts: int) -> list[dict]:
    accounts = [_account(*row) for row in ROLE_ACCOUNTS]
    for i in range(IC_PAIRS):
        accounts.append(_account(f"ICR{i:02d}", f"IC receivable {i}", "asset", True, None, f"ICP{i:02d}"))
        accounts.append(_account(f"ICP{i:02d}", f"IC payable {i}", "liability", True, None, f"ICR{i:02d}"))
    types = ["asset"] * 4 + ["liability"] * 2 + ["equity"] + ["revenue"] * 2 + ["expense"] * 2
    for i in range(n_accounts - len(accounts)):
        accounts.append(_account(f"A{i:05d}", f"Account {i}", types[i % len(types)]))
    return accounts


def group_pack(n_entities: int = 50, n_accounts: int = 2000, seed: int = 20241231) -> dict:
    rnd = random.Random(seed)
    accounts = chart(n_accounts)
    plain = [a["code"] for a in accounts if a["code"].startswith("A")]
    entities = [{"code": "E00", "name": "Top parent", "functional_currency": "EUR", "parent": None,
                 "ownership_pct": None, "acquired_on": None}]
    for i in range(1, n_entities):
        entities.append({"code": f"E{i:02d}", "name": f"Member {i}", "functional_currency": CURRENCIES[i % 5],
                             "parent": f"E{rnd.randrange(max(1, i // 2)):02d}" if i > 1 else "E00",
                             "ownership_pct": str(rnd.choice([100, 100, 90, 80, 75, 60])) + ".00",
                             "acquired_on": "2023-12-31"})
    ccy = {e["code"]: e["functional_currency"] for e in entities}
    eur = {c: Decimal(RATES[c][0]) if c != "EUR" else Decimal(1) for c in CURRENCIES}
    tbs: dict[str, list[dict]] = {e["code"]: [] for e in entities}
    ic_per_entity = max(1, n_accounts // 100 // 2)  # ~1% of lines, half raised here and half mirrored
    for e in entities:
        code = e["code"]
        for acc in plain:
            tbs[code].append({"account": acc, "amount": f"{Decimal(rnd.randrange(-10**8, 10**8)) / 100}",
                              "counterparty": None})
        for _ in range(ic_per_entity):
            other = rnd.choice([x["code"] for x in entities if x["code"] != code])
            pair = rnd.randrange(IC_PAIRS)
            amount = Decimal(rnd.randrange(1, 10**7)) / 100
            tbs[code].append({"account": f"ICR{pair:02d}", "amount": str(amount), "counterparty": other})
            mirror = (amount * eur[ccy[code]] / eur[ccy[other]]).quantize(Decimal("0.01"))
            tbs[other].append({"account": f"ICP{pair:02d}", "amount": str(-mirror), "counterparty": code})
    adjustments = []
    for e in entities[1:]:
        share_capital = Decimal(rnd.randrange(10**5, 10**6))
        tbs[e["code"]].append({"account": "R3000", "amount": str(-share_capital), "counterparty": None})
        adjustments.append({"type": "net_assets_at_acquisition", "entity": e["code"],
                            "lines": [{"account": "R3000", "amount": str(-share_capital)}]})
        cost = (share_capital * eur[e["functional_currency"]] / eur[ccy[e["parent"]]] * 2).quantize(Decimal("0.01"))
        tbs[e["parent"]].append({"account": "R1500", "amount": str(cost), "counterparty": e["code"]})
        tbs[e["parent"]].append({"account": "R1000", "amount": str(-cost), "counterparty": None})
    for lines in tbs.values():
        total = sum(Decimal(line["amount"]) for line in lines)
        lines.append({"account": "R1000", "amount": str(-total), "counterparty": None})
    fx = []
    for c, (closing, average, historical) in RATES.items():
        fx += [{"from": c, "to": "EUR", "type": "closing", "rate": closing, "date": "2024-12-31"},
               {"from": c, "to": "EUR", "type": "average", "rate": average, "date": "2024-12-31"},
               {"from": c, "to": "EUR", "type": "historical", "rate": historical, "date": "2023-12-31"}]
    return {"name": f"Bench group {n_entities}x{n_accounts}", "group_currency": "EUR", "period": "2024-12",
            "entities": entities, "accounts": accounts, "trial_balances": tbs, "fx_rates": fx,
            "adjustments": adjustments}
