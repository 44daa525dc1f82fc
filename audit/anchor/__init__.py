"""Anchoring the audit trail outside the database.

The hash chain proves that history was not edited in the middle, but not that its end is still
there: whoever can delete the newest events can also rewind the chain head, delete an
organisation's whole chain, or re-chain a rewritten history, and the chain still verifies. So
the chain heads (and the simple-history tables' row counts) are signed and written to a
write-once store outside the database — every hour (django-q2 schedule ``audit.anchor``) and
after every period lock — and ``verify_audit`` checks the database still reaches the latest
anchor.

* store.py — the write-once store interface and its directory implementation;
* state.py — what an anchor records, read from the database;
* services.py — writing an anchor, finding the latest;
* check.py — comparing the database with an anchor.
"""
