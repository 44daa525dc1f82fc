"""Eliminations are balanced journals of postings in the group currency, each tagged with the
member whose column it belongs to, so every consolidated figure can be traced to its parts."""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from consolidation.engine.errors import ConsolidationUnbalancedError

EXACT_TOLERANCE = Decimal("1e-20")


@dataclass(frozen=True)
class Posting:
    entity: str
    account: str
    amount: Decimal  # group currency, debit positive, exact


@dataclass
class Elimination:
    kind: str  # investment | intercompany | unrealised_profit | nci_reserves | nci_profit | nci_cta | nci_dividends
    ref: str
    description: str
    postings: list[Posting] = field(default_factory=list)
    # True when the entry changes a member's own profit as seen by its NCI (pre-acquisition
    # P&L, intra-group dividend income, unrealised profit); False for pairs that cancel inside
    # the group's P&L (intra-group sales against purchases).
    affects_member_profit: bool = False
    details: dict[str, Any] = field(default_factory=dict)

    def add(self, entity: str, account: str, amount: Decimal) -> None:
        if amount != 0:
            self.postings.append(Posting(entity, account, amount))

    def check_balanced(self) -> Elimination:
        total = sum((p.amount for p in self.postings), Decimal(0))
        if abs(total) > EXACT_TOLERANCE:
            raise ConsolidationUnbalancedError(f"Elimination {self.kind} {self.ref} does not balance: {total}.")
        return self
