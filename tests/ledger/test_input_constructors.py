"""ledger.inputs.plain_line / entry_of: the batch reader's constructors give the very objects the
dataclasses' own __init__ gives (every field, equality, frozenness), without its cost."""
import dataclasses
from datetime import date
from decimal import Decimal

import pytest

from ledger.inputs import EntryInput, LineInput, entry_of, plain_line


def test_plain_line_is_the_dataclass_line_with_defaults():
    made = plain_line(7, Decimal("-1.25"), 3)
    assert made == LineInput(account_id=7, amount=Decimal("-1.25"), source_row=3)
    assert [f.name for f in dataclasses.fields(LineInput)] == list(vars(made))
    assert plain_line(7, Decimal(1)).dimensions is not plain_line(7, Decimal(1)).dimensions  # one dict each
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.amount = Decimal(0)  # type: ignore[misc]


def test_entry_of_is_the_dataclass_entry_with_defaults():
    lines = [plain_line(1, Decimal(5)), plain_line(2, Decimal(-5))]
    made = entry_of(date(2026, 3, 1), "Rent", lines, 12, "INV-1")
    assert made == EntryInput(entry_date=date(2026, 3, 1), description="Rent", lines=lines, period_id=12,
                              reference="INV-1")
    assert [f.name for f in dataclasses.fields(EntryInput)] == list(vars(made))
    assert (made.reverse_on, made.auto_reverse, made.source) == (None, False, None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.description = "x"  # type: ignore[misc]
