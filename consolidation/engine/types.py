"""Engine inputs: frozen dataclasses over Decimal. Amounts are debit-positive, exact Decimals."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum


class AccountType(StrEnum):
    ASSET = "asset"
    LIABILITY = "liability"
    EQUITY = "equity"
    REVENUE = "revenue"
    EXPENSE = "expense"


class Role(StrEnum):
    INVESTMENT = "investment"
    GOODWILL = "goodwill"
    SHARE_CAPITAL = "share_capital"
    RETAINED_EARNINGS = "retained_earnings"
    DIVIDENDS = "dividends"
    CTA = "cta"
    NCI = "nci"
    NCI_PROFIT = "nci_profit"


class RateType(StrEnum):
    CLOSING = "closing"
    AVERAGE = "average"
    HISTORICAL = "historical"


PL_TYPES = frozenset({AccountType.REVENUE, AccountType.EXPENSE})


@dataclass(frozen=True)
class Member:
    """A group member. ``ownership_pct`` is the direct holding of ``parent`` (0 < pct <= 100);
    ``acquired_on`` is the date the member came under the group's control."""

    code: str
    functional_currency: str
    parent: str | None = None
    ownership_pct: Decimal | None = None
    acquired_on: date | None = None
    name: str = ""


@dataclass(frozen=True)
class Account:
    code: str
    type: AccountType
    ic: bool = False
    role: Role | None = None
    ic_pair: str | None = None
    name: str = ""

    @property
    def is_pl(self) -> bool:
        return self.type in PL_TYPES


@dataclass(frozen=True)
class TBLine:
    entity: str
    account: str
    amount: Decimal  # functional currency, debit positive
    counterparty: str | None = None


@dataclass(frozen=True)
class FxRate:
    """``rate`` units of ``to_ccy`` per one ``from_ccy``."""

    from_ccy: str
    to_ccy: str
    type: RateType
    rate: Decimal
    on: date


@dataclass(frozen=True)
class NetAssetsAtAcquisition:
    """The subsidiary's equity balances at acquisition, per equity account, in its functional
    currency, debit-positive (so usually credits). For an acquisition during the current year,
    retained earnings is the balance at the start of the year and the profit earned before the
    acquisition is given by a PreAcquisitionPL adjustment; net assets acquired are then
    -(sum of these lines + sum of the pre-acquisition P&L lines)."""

    entity: str
    lines: tuple[tuple[str, Decimal], ...]


@dataclass(frozen=True)
class PreAcquisitionPL:
    """Income and expense of the current year earned before the acquisition date, per account,
    functional currency, debit-positive; removed from the consolidated P&L."""

    entity: str
    lines: tuple[tuple[str, Decimal], ...]


@dataclass(frozen=True)
class UnrealisedProfit:
    """Profit the seller made on goods still in the buyer's inventory at the period end, in the
    group currency. It is removed from the buyer's inventory and added to the seller's cost of
    sales; the seller's non-controlling interest bears its share (upstream)."""

    seller: str
    buyer: str
    amount: Decimal
    inventory_account: str
    cogs_account: str


@dataclass(frozen=True)
class Adjustments:
    net_assets: tuple[NetAssetsAtAcquisition, ...] = ()
    pre_acquisition_pl: tuple[PreAcquisitionPL, ...] = ()
    unrealised_profit: tuple[UnrealisedProfit, ...] = ()


@dataclass(frozen=True)
class ManualAdjustment:
    """A manual consolidation adjustment a controller posted in the group's consolidation ledger
    (``entry``: its journal entry id), group currency, debit-positive lines that sum to zero. It is
    added to the consolidated TB as it stands; it changes no member's profit or NCI."""

    entry: str
    description: str
    lines: tuple[tuple[str, Decimal], ...]


@dataclass(frozen=True)
class EngineInputs:
    group_currency: str
    period_end: date
    members: tuple[Member, ...]
    accounts: tuple[Account, ...]
    lines: tuple[TBLine, ...]
    rates: tuple[FxRate, ...]
    adjustments: Adjustments = field(default_factory=Adjustments)
    ic_tolerance: Decimal = Decimal("0")
    manual_adjustments: tuple[ManualAdjustment, ...] = ()
