"""Import of ERP extracts (trial balances, GL detail) from CSV or XLSX.

Phase 1 is pure and streaming: ``reading`` turns a binary stream into numbered rows (hash,
encoding, delimiter, limits, XLSX safety), ``numbers`` parses ERP amounts to ``Decimal``,
``mapping`` says which column means what, ``validation`` turns rows into records and collects
every problem at once, ``escaping`` neutralises formula-looking text on export. Nothing here
touches the database: lookups are passed in by the caller.
"""
