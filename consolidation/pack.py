"""Group pack: a self-contained consolidation case as JSON (issue 8), parsed and validated into
engine inputs. Every problem is collected - path, value, reason - before anything is refused, so
a malformed pack is answered with the complete list at once and nothing is loaded.

Paths look like ``trial_balances.SUB1[3].amount`` or ``entities[2].parent``.
"""
from __future__ import annotations

import calendar
import json
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from consolidation.engine.ownership import find_cycle
from consolidation.engine.translation import RateBook
from consolidation.engine.types import (
    Account,
    AccountType,
    Adjustments,
    EngineInputs,
    FxRate,
    Member,
    NetAssetsAtAcquisition,
    PreAcquisitionPL,
    RateType,
    Role,
    TBLine,
    UnrealisedProfit,
)
from consolidation.errors import ConsolidationErrorCode
from sheshi.errors import FieldError, ValidationFailed
from sheshi.money import is_iso_currency

DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
PERIOD_RE = re.compile(r"^(\d{4})-(\d{2})$")
CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")
SINGLE_ROLES = (Role.GOODWILL, Role.CTA, Role.NCI, Role.NCI_PROFIT)
ROLE_TYPES = {
    Role.INVESTMENT: {AccountType.ASSET}, Role.GOODWILL: {AccountType.ASSET},
    Role.SHARE_CAPITAL: {AccountType.EQUITY}, Role.RETAINED_EARNINGS: {AccountType.EQUITY},
    Role.DIVIDENDS: {AccountType.EQUITY}, Role.CTA: {AccountType.EQUITY}, Role.NCI: {AccountType.EQUITY},
    Role.NCI_PROFIT: {AccountType.EQUITY, AccountType.EXPENSE},
}


class GroupPackInvalidError(ValidationFailed):
    error = ConsolidationErrorCode.GROUP_PACK_INVALID


@dataclass(frozen=True)
class GroupPack:
    name: str
    period: str
    inputs: EngineInputs

    @property
    def entities(self) -> tuple[Member, ...]:
        return self.inputs.members


class _Errors:
    def __init__(self) -> None:
        self.items: list[FieldError] = []

    def add(self, path: str, value: Any, reason: str, code: str = "invalid") -> None:
        self.items.append(FieldError(field=path, message=reason, code=code,
                                     value=value if value is None or isinstance(value, str | int | bool)
                                     else json.dumps(value, default=str)[:200]))


def _decimal(errs: _Errors, path: str, value: Any, places: int = 4) -> Decimal | None:
    if not isinstance(value, str):
        errs.add(path, value, "must be a decimal string (e.g. \"1234.50\"), not a JSON number", "not_decimal")
        return None
    try:
        d = Decimal(value.strip())
    except InvalidOperation:
        errs.add(path, value, "is not a decimal number", "not_decimal")
        return None
    if not d.is_finite():
        errs.add(path, value, "is not a finite decimal number", "not_decimal")
        return None
    if d.as_tuple().exponent < -places:
        errs.add(path, value, f"has more than {places} decimal places", "too_precise")
        return None
    return d


def _date(errs: _Errors, path: str, value: Any) -> date | None:
    if not isinstance(value, str) or not DATE_RE.match(value):
        errs.add(path, value, "must be a date YYYY-MM-DD", "not_date")
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errs.add(path, value, "is not a valid calendar date", "not_date")
        return None


def _list(errs: _Errors, data: dict, key: str) -> list:
    value = data.get(key)
    if not isinstance(value, list):
        errs.add(key, value, "must be a list", "required")
        return []
    return value


def _obj(errs: _Errors, path: str, value: Any) -> dict | None:
    if not isinstance(value, dict):
        errs.add(path, value, "must be an object", "invalid")
        return None
    return value


def pack_parse(source: str | bytes | dict) -> GroupPack:
    """Parse and validate a group pack; raise GroupPackInvalidError with every problem found."""
    errs = _Errors()
    if isinstance(source, str | bytes):
        try:
            data = json.loads(source)
        except (ValueError, UnicodeDecodeError) as exc:
            raise GroupPackInvalidError(errors=[FieldError(field="", message=f"not valid JSON: {exc}",
                                                           code="not_json")]) from exc
    else:
        data = source
    if not isinstance(data, dict):
        raise GroupPackInvalidError(errors=[FieldError(field="", message="must be a JSON object", code="invalid")])

    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        errs.add("name", name, "must be a non-empty string", "required")
    group_ccy = data.get("group_currency")
    if not isinstance(group_ccy, str) or not is_iso_currency(group_ccy):
        errs.add("group_currency", group_ccy, "unknown currency (ISO 4217 code expected)", "unknown_currency")
    period = data.get("period")
    period_end = None
    m = PERIOD_RE.match(period) if isinstance(period, str) else None
    if not m or not 1 <= int(m.group(2)) <= 12:
        errs.add("period", period, "must be a period YYYY-MM", "invalid")
    else:
        year, month = int(m.group(1)), int(m.group(2))
        period_end = date(year, month, calendar.monthrange(year, month)[1])

    members = _entities(errs, data, period_end)
    accounts = _accounts(errs, data, members)
    lines = _trial_balances(errs, data, members, accounts)
    rates = _rates(errs, data)
    adjustments = _adjustments(errs, data, members, accounts)
    if period_end is not None and isinstance(group_ccy, str) and is_iso_currency(group_ccy):
        _required_rates(errs, members, rates, group_ccy, period_end)
    if errs.items:
        raise GroupPackInvalidError(f"The group pack has {len(errs.items)} problem(s).", errors=errs.items)
    inputs = EngineInputs(group_currency=group_ccy, period_end=period_end, members=tuple(members.values()),
                          accounts=tuple(accounts.values()), lines=tuple(lines), rates=tuple(rates),
                          adjustments=adjustments)
    return GroupPack(name=name.strip(), period=period, inputs=inputs)


def _entities(errs: _Errors, data: dict, period_end: date | None) -> dict[str, Member]:
    members: dict[str, Member] = {}
    index: dict[str, int] = {}  # code -> position in the pack, for error paths
    raw = _list(errs, data, "entities")
    for i, item in enumerate(raw):
        p = f"entities[{i}]"
        item = _obj(errs, p, item)
        if item is None:
            continue
        code = item.get("code")
        if not isinstance(code, str) or not CODE_RE.match(code):
            errs.add(f"{p}.code", code, "must be a code of letters, digits, '_', '.', '-' (max 32)", "invalid")
            continue
        if code in members:
            errs.add(f"{p}.code", code, "duplicate entity code", "duplicate")
            continue
        ccy = item.get("functional_currency")
        if not isinstance(ccy, str) or not is_iso_currency(ccy):
            errs.add(f"{p}.functional_currency", ccy, "unknown currency (ISO 4217 code expected)", "unknown_currency")
        parent = item.get("parent")
        pct = acquired = None
        if parent is None:
            if item.get("ownership_pct") is not None:
                errs.add(f"{p}.ownership_pct", item.get("ownership_pct"), "the top parent has no ownership_pct")
        else:
            pct = _decimal(errs, f"{p}.ownership_pct", item.get("ownership_pct"), places=4)
            if pct is not None and not Decimal(0) < pct <= Decimal(100):
                errs.add(f"{p}.ownership_pct", item.get("ownership_pct"), "ownership must be above 0 and at most 100",
                         "out_of_range")
            acquired = _date(errs, f"{p}.acquired_on", item.get("acquired_on"))
            if acquired and period_end and acquired > period_end:
                errs.add(f"{p}.acquired_on", item.get("acquired_on"), "acquired after the end of the period",
                         "out_of_range")
        index[code] = i
        members[code] = Member(code=code, functional_currency=ccy if isinstance(ccy, str) else "", parent=parent,
                               ownership_pct=pct, acquired_on=acquired, name=str(item.get("name") or code))
    if not raw:
        errs.add("entities", raw, "a group needs at least one entity", "required")
        return members
    tops = [c for c, mem in members.items() if mem.parent is None]
    if len(tops) != 1:
        errs.add("entities", tops, "exactly one entity must have parent null (the top parent)", "top_parent")
    for code, mem in members.items():
        if mem.parent is not None and mem.parent not in members:
            errs.add(f"entities[{index[code]}].parent", mem.parent, "unknown entity", "unknown_entity")
        elif mem.parent == code:
            errs.add(f"entities[{index[code]}].parent", mem.parent, "an entity cannot be its own parent", "cycle")
    cycle = find_cycle({c: mem.parent for c, mem in members.items() if mem.parent in members})
    if cycle and len(cycle) > 2:
        errs.add("entities", " -> ".join(cycle), "the parent chain has a cycle", "cycle")
    for code, mem in members.items():
        parent = members.get(mem.parent) if mem.parent else None
        if parent and parent.acquired_on and mem.acquired_on and mem.acquired_on < parent.acquired_on:
            errs.add(f"entities[{index[code]}].acquired_on", mem.acquired_on.isoformat(),
                     f"joins the group before its parent {parent.code} did ({parent.acquired_on}); give the date "
                     "the group obtained control", "before_parent")
    return members


def _accounts(errs: _Errors, data: dict, members: dict[str, Member]) -> dict[str, Account]:
    accounts: dict[str, Account] = {}
    pairs: dict[str, tuple[int, Any]] = {}
    for i, item in enumerate(_list(errs, data, "accounts")):
        p = f"accounts[{i}]"
        item = _obj(errs, p, item)
        if item is None:
            continue
        code = item.get("code")
        if not isinstance(code, str) or not CODE_RE.match(code):
            errs.add(f"{p}.code", code, "must be an account code", "invalid")
            continue
        if code in accounts:
            errs.add(f"{p}.code", code, "duplicate account code", "duplicate")
            continue
        try:
            atype = AccountType(item.get("type"))
        except ValueError:
            errs.add(f"{p}.type", item.get("type"), "must be asset, liability, equity, revenue or expense")
            continue
        ic = item.get("ic", False)
        if not isinstance(ic, bool):
            errs.add(f"{p}.ic", ic, "must be true or false")
            ic = False
        role = None
        if item.get("role") is not None:
            try:
                role = Role(item.get("role"))
            except ValueError:
                errs.add(f"{p}.role", item.get("role"), f"unknown role (one of {', '.join(r.value for r in Role)})")
        if role and atype not in ROLE_TYPES[role]:
            errs.add(f"{p}.type", atype.value, f"an account with role {role} must be "
                     f"{' or '.join(sorted(t.value for t in ROLE_TYPES[role]))}")
        pair = item.get("ic_pair")
        pairs[code] = (i, pair)
        accounts[code] = Account(code=code, type=atype, ic=ic, role=role, ic_pair=pair,
                                 name=str(item.get("name") or ""))
    for code, (i, pair) in pairs.items():
        acc = accounts[code]
        if pair is None:
            if acc.ic and acc.role != Role.INVESTMENT:
                errs.add(f"accounts[{i}].ic_pair", pair, "an intercompany account needs its mirror account", "required")
        elif pair not in accounts:
            errs.add(f"accounts[{i}].ic_pair", pair, "unknown account", "unknown_account")
        elif not acc.ic or not accounts[pair].ic:
            errs.add(f"accounts[{i}].ic_pair", pair, "both accounts of an intercompany pair must have ic true")
        elif accounts[pair].ic_pair != code:
            errs.add(f"accounts[{i}].ic_pair", pair, f"the pairing is not mutual ({pair} pairs with "
                     f"{accounts[pair].ic_pair})", "pair_not_mutual")
    for role in SINGLE_ROLES:
        codes = sorted(c for c, a in accounts.items() if a.role == role)
        if len(codes) > 1:
            errs.add("accounts", codes, f"only one account may have role {role}", "duplicate_role")
    needs = set()
    if len(members) > 1:
        needs |= {Role.INVESTMENT, Role.GOODWILL}
    if any(m.ownership_pct is not None and m.ownership_pct < 100 for m in members.values()):
        needs |= {Role.NCI, Role.NCI_PROFIT}
    if len({m.functional_currency for m in members.values()} | {data.get("group_currency")}) > 1:
        needs.add(Role.CTA)
    for role in sorted(needs):
        if not any(a.role == role for a in accounts.values()):
            errs.add("accounts", None, f"the group chart needs an account with role {role}", "role_missing")
    return accounts


def _trial_balances(errs: _Errors, data: dict, members: dict[str, Member],
                    accounts: dict[str, Account]) -> list[TBLine]:
    tbs = data.get("trial_balances")
    if not isinstance(tbs, dict):
        errs.add("trial_balances", tbs, "must be an object {entity: [lines]}", "required")
        return []
    lines: list[TBLine] = []
    for entity in sorted(set(members) - set(tbs)):
        errs.add(f"trial_balances.{entity}", None, "missing trial balance for this entity", "required")
    for entity, rows in tbs.items():
        p = f"trial_balances.{entity}"
        if entity not in members:
            errs.add(p, entity, "unknown entity", "unknown_entity")
            continue
        if not isinstance(rows, list):
            errs.add(p, rows, "must be a list of lines", "invalid")
            continue
        total, complete = Decimal(0), True
        for i, row in enumerate(rows):
            lp = f"{p}[{i}]"
            row = _obj(errs, lp, row)
            if row is None:
                complete = False
                continue
            account = row.get("account")
            if account not in accounts:
                errs.add(f"{lp}.account", account, "unknown account", "unknown_account")
                complete = False
            amount = _decimal(errs, f"{lp}.amount", row.get("amount"))
            if amount is None:
                complete = False
            cp = row.get("counterparty")
            if cp is not None:
                if cp not in members:
                    errs.add(f"{lp}.counterparty", cp, "unknown entity", "unknown_entity")
                elif cp == entity:
                    errs.add(f"{lp}.counterparty", cp, "an entity cannot be its own counterparty")
                elif account in accounts and not accounts[account].ic and accounts[account].role != Role.INVESTMENT:
                    errs.add(f"{lp}.counterparty", cp, f"account {account} is not an intercompany account")
            elif account in accounts and accounts[account].role == Role.INVESTMENT:
                errs.add(f"{lp}.counterparty", cp, "an investment line must name the subsidiary", "required")
            if amount is not None and account in accounts:
                total += amount
                lines.append(TBLine(entity=entity, account=account, amount=amount, counterparty=cp))
        if complete and total != 0:
            errs.add(p, str(total), f"does not sum to zero in {members[entity].functional_currency} "
                     f"(sums to {total})", "tb_unbalanced")
    return lines


def _rates(errs: _Errors, data: dict) -> list[FxRate]:
    out: list[FxRate] = []
    seen: dict[tuple, int] = {}
    for i, item in enumerate(data.get("fx_rates") or []):
        p = f"fx_rates[{i}]"
        item = _obj(errs, p, item)
        if item is None:
            continue
        ok = True
        for key in ("from", "to"):
            if not isinstance(item.get(key), str) or not is_iso_currency(item.get(key)):
                errs.add(f"{p}.{key}", item.get(key), "unknown currency (ISO 4217 code expected)", "unknown_currency")
                ok = False
        try:
            rtype = RateType(item.get("type"))
        except ValueError:
            errs.add(f"{p}.type", item.get("type"), "must be closing, average or historical")
            ok = False
        rate = _decimal(errs, f"{p}.rate", item.get("rate"), places=12)
        if rate is not None and rate <= 0:
            errs.add(f"{p}.rate", item.get("rate"), "a rate must be positive", "out_of_range")
            rate = None
        on = _date(errs, f"{p}.date", item.get("date"))
        if not ok or rate is None or on is None:
            continue
        if item["from"] == item["to"]:
            errs.add(p, item["from"], "a rate needs two different currencies")
            continue
        key = (item["from"], item["to"], rtype, on)
        if key in seen:
            errs.add(p, f"{key[0]}->{key[1]} {rtype} {on}", f"duplicate of fx_rates[{seen[key]}]", "duplicate")
            continue
        seen[key] = i
        out.append(FxRate(from_ccy=item["from"], to_ccy=item["to"], type=rtype, rate=rate, on=on))
    if data.get("fx_rates") is not None and not isinstance(data.get("fx_rates"), list):
        errs.add("fx_rates", data.get("fx_rates"), "must be a list")
    return out


def _required_rates(errs: _Errors, members: dict[str, Member], rates: list[FxRate], group_ccy: str,
                    period_end: date) -> None:
    book = RateBook(tuple(rates), group_ccy)
    for code, m in members.items():
        if not is_iso_currency(m.functional_currency) or (m.parent is not None and m.acquired_on is None):
            continue  # already reported
        needed = [(m.functional_currency, RateType.CLOSING, period_end),
                  (m.functional_currency, RateType.AVERAGE, period_end),
                  (m.functional_currency, RateType.HISTORICAL, m.acquired_on)]
        parent = members.get(m.parent) if m.parent else None
        if parent is not None and is_iso_currency(parent.functional_currency):
            # the cost of investment, at the parent's rate on the acquisition date
            needed.append((parent.functional_currency, RateType.HISTORICAL, m.acquired_on))
        for ccy, rtype, on in needed:
            if book.find(ccy, rtype, on) is None:
                when = on.isoformat() if on else "any date"
                errs.add("fx_rates", f"{ccy}->{group_ccy} {rtype} {when}",
                         f"missing rate needed for entity {code}", "rate_missing")


def _adj_lines(errs: _Errors, p: str, item: dict, accounts: dict[str, Account],
               allowed: set[AccountType]) -> tuple[tuple[str, Decimal], ...]:
    out = []
    raw = item.get("lines")
    if not isinstance(raw, list) or not raw:
        errs.add(f"{p}.lines", raw, "must be a non-empty list of {account, amount}", "required")
        return ()
    for j, line in enumerate(raw):
        lp = f"{p}.lines[{j}]"
        line = _obj(errs, lp, line)
        if line is None:
            continue
        account = line.get("account")
        if account not in accounts:
            errs.add(f"{lp}.account", account, "unknown account", "unknown_account")
        elif accounts[account].type not in allowed:
            errs.add(f"{lp}.account", account, f"must be a {' or '.join(sorted(t.value for t in allowed))} account")
        amount = _decimal(errs, f"{lp}.amount", line.get("amount"))
        if amount is not None and account in accounts:
            out.append((account, amount))
    return tuple(out)


def _adjustments(errs: _Errors, data: dict, members: dict[str, Member], accounts: dict[str, Account]) -> Adjustments:
    na, pre, urp = [], [], []
    na_seen: dict[str, int] = {}
    raw = data.get("adjustments", [])
    if not isinstance(raw, list):
        errs.add("adjustments", raw, "must be a list")
        raw = []
    subs = {c for c, m in members.items() if m.parent is not None}
    for i, item in enumerate(raw):
        p = f"adjustments[{i}]"
        item = _obj(errs, p, item)
        if item is None:
            continue
        kind = item.get("type")
        if kind in ("net_assets_at_acquisition", "pre_acquisition_pl"):
            entity = item.get("entity")
            if entity not in members:
                errs.add(f"{p}.entity", entity, "unknown entity", "unknown_entity")
            elif entity not in subs:
                errs.add(f"{p}.entity", entity, "the top parent is not acquired", "not_subsidiary")
            if kind == "net_assets_at_acquisition":
                lines = _adj_lines(errs, p, item, accounts, {AccountType.EQUITY})
                if entity in na_seen:
                    errs.add(f"{p}.entity", entity, f"duplicate of adjustments[{na_seen[entity]}]", "duplicate")
                elif entity in subs:
                    na_seen[entity] = i
                    na.append(NetAssetsAtAcquisition(entity=entity, lines=lines))
            else:
                lines = _adj_lines(errs, p, item, accounts, {AccountType.REVENUE, AccountType.EXPENSE})
                if entity in subs:
                    pre.append(PreAcquisitionPL(entity=entity, lines=lines))
        elif kind == "unrealised_profit":
            for key in ("seller", "buyer"):
                if item.get(key) not in members:
                    errs.add(f"{p}.{key}", item.get(key), "unknown entity", "unknown_entity")
            if item.get("seller") == item.get("buyer"):
                errs.add(f"{p}.buyer", item.get("buyer"), "seller and buyer must differ")
            amount = _decimal(errs, f"{p}.amount", item.get("amount"))
            if amount is not None and amount < 0:
                errs.add(f"{p}.amount", item.get("amount"), "unrealised profit is positive (a loss is not deferred)",
                         "out_of_range")
            for key, want in (("inventory_account", AccountType.ASSET), ("cogs_account", AccountType.EXPENSE)):
                acc = accounts.get(item.get(key))
                if acc is None:
                    errs.add(f"{p}.{key}", item.get(key), "unknown account", "unknown_account")
                elif acc.type != want:
                    errs.add(f"{p}.{key}", item.get(key), f"must be an {want.value} account")
            if not any(e.field.startswith(p) for e in errs.items):
                urp.append(UnrealisedProfit(seller=item["seller"], buyer=item["buyer"], amount=amount,
                                            inventory_account=item["inventory_account"],
                                            cogs_account=item["cogs_account"]))
        else:
            errs.add(f"{p}.type", kind, "must be net_assets_at_acquisition, unrealised_profit or pre_acquisition_pl")
    for code in sorted(subs - set(na_seen)):
        errs.add("adjustments", code, f"subsidiary {code} needs a net_assets_at_acquisition adjustment", "required")
    return Adjustments(net_assets=tuple(na), pre_acquisition_pl=tuple(pre), unrealised_profit=tuple(urp))


def pack_errors_as_dicts(error: GroupPackInvalidError) -> list[dict[str, Any]]:
    """[{path, value, reason, code}] - the shape commands and the API print."""
    return [{"path": e.field, "value": e.value, "reason": e.message, "code": e.code} for e in error.errors]


__all__ = ["GroupPack", "GroupPackInvalidError", "pack_errors_as_dicts", "pack_parse"]
