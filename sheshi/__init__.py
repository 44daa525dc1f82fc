"""Sheshi: the governed layer that turns many entities' raw financial data into signable numbers."""

__version__ = "0.1.0"
