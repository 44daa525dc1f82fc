"""The demo group's ERPs: how each exports its general ledger, as saved source systems.

The holding, US and French companies export from SAP (UTF-8, comma, ISO dates, one signed
amount, group account codes); the UK company exports from Sage 50 the way a continental
accountant's copy of it is set up (Windows-1252, semicolon, day/month/year dates, decimal comma
with dot thousands, separate debit and credit columns, its own local nominal codes)."""
from __future__ import annotations

from ledger.imports.mapping import ColumnMapping, ImportKind

SAP = ColumnMapping(
    kind=ImportKind.GL_DETAIL, account="G/L Account", amount="Amount in LC", currency="Local Currency",
    date="Posting Date", reference="Document Number", description="Text", counterparty="Trading Partner",
    delimiter=",", encoding="utf-8")
SAP_HEADER = ["Posting Date", "Document Number", "G/L Account", "Text", "Amount in LC", "Local Currency",
              "Trading Partner"]

SAGE_UK = ColumnMapping(
    kind=ImportKind.GL_DETAIL, account="Nominal A/C", debit="Debit", credit="Credit", date="Date",
    date_format="%d/%m/%Y", reference="Ref", description="Details", counterparty="IC Partner",
    decimal_comma=True, delimiter=";", encoding="cp1252")
SAGE_UK_HEADER = ["Date", "Ref", "Nominal A/C", "Details", "Debit", "Credit", "IC Partner"]

# code, name, mapping, entities that export this way
SOURCE_SYSTEMS = [
    ("SAP", "SAP S/4HANA general ledger line items (FAGLL03)", SAP, ("HOLD", "US", "FR")),
    ("SAGE-UK", "Sage 50 nominal activity (UK)", SAGE_UK, ("UK",)),
]
SOURCE_FOR_ENTITY = {entity: code for code, _name, _m, entities in SOURCE_SYSTEMS for entity in entities}
