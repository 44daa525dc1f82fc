"""Auditor evidence: one signed zip archive per organisation and period range.

``archive.py`` builds it (trial balances, journals with their workflow, period lock snapshots
with a recomputation check, audit events with the chain verification result, a permissions
snapshot — each dataset in CSV and JSON — and a signed ``manifest.json`` of SHA-256 hashes);
``verify.py`` checks an archive offline; ``api.py`` serves it to auditors.
"""
