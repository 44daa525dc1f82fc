"""``{{ value|money:currency }}``: the one place pages format money (thousands separators and
the currency's decimals, see sheshi.money.money_display)."""
from django import template

from sheshi.money import money_display

register = template.Library()


@register.filter
def money(value, currency: str = "EUR") -> str:
    return money_display(value, currency)
