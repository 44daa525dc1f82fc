"""Registered here so Django finds it; the command lives with the import code (ledger/imports/command.py)."""
from ledger.imports.command import Command  # noqa: F401
