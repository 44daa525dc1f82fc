"""Group structure: the top parent, the holding chain and effective interests.

Effective interest is the product of direct holdings along the chain to the top parent
(90% of B, B holds 60% of C: the group's effective interest in C is 54%, NCI in C is 46%:
40% direct plus 10% x 60% = 6% indirect through B's own NCI).
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from consolidation.engine.errors import EngineInputError
from consolidation.engine.types import Member

ONE = Decimal(1)
HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Structure:
    top: str
    members: dict[str, Member]
    order: tuple[str, ...]  # parents before their subsidiaries, siblings by code
    effective: dict[str, Decimal]  # fraction 0..1 of each member owned by the top parent's owners

    def parent_effective(self, code: str) -> Decimal:
        """Effective interest of the member's immediate parent (1 for direct subsidiaries)."""
        parent = self.members[code].parent
        return self.effective[parent] if parent else ONE

    def subsidiaries(self) -> tuple[str, ...]:
        return tuple(c for c in self.order if c != self.top)


def find_cycle(parents: dict[str, str | None]) -> list[str] | None:
    """Return one cycle in the parent relation (as a list of codes), or None."""
    for start in sorted(parents):
        seen: list[str] = []
        node: str | None = start
        while node is not None and node in parents:
            if node in seen:
                return [*seen[seen.index(node):], node]
            seen.append(node)
            node = parents[node]
    return None


def structure_build(members: tuple[Member, ...]) -> Structure:
    by_code = {m.code: m for m in members}
    if len(by_code) != len(members):
        raise EngineInputError("Member codes are not unique.")
    tops = sorted(m.code for m in members if m.parent is None)
    if len(tops) != 1:
        raise EngineInputError(f"A group has exactly one top parent; found {tops or 'none'}.")
    for m in members:
        if m.parent is not None and m.parent not in by_code:
            raise EngineInputError(f"Member {m.code}: parent {m.parent} is not a member of the group.")
        if m.parent is not None and (m.ownership_pct is None or not Decimal(0) < m.ownership_pct <= HUNDRED):
            raise EngineInputError(f"Member {m.code}: ownership {m.ownership_pct} is outside (0, 100].")
    cycle = find_cycle({m.code: m.parent for m in members})
    if cycle:
        raise EngineInputError(f"The parent chain has a cycle: {' -> '.join(cycle)}.")

    children: dict[str, list[str]] = {c: [] for c in by_code}
    for m in members:
        if m.parent is not None:
            children[m.parent].append(m.code)
    order: list[str] = []
    effective: dict[str, Decimal] = {tops[0]: ONE}
    queue = [tops[0]]
    while queue:
        code = queue.pop(0)
        order.append(code)
        for child in sorted(children[code]):
            effective[child] = effective[code] * by_code[child].ownership_pct / HUNDRED
            queue.append(child)
    if len(order) != len(members):  # unreachable after the cycle check; kept as a guard
        raise EngineInputError("Some members are not connected to the top parent.")
    return Structure(top=tops[0], members=by_code, order=tuple(order), effective=effective)
