"""Checker rules for the importers: every file is posted whole or not at all, and at most once.

Identities: a file is its content (SHA-256, per entity); every row of a file carries
``imp:<key>`` in its description, which the import copies into the line's memo, so the lines of a
file can be counted in the ledger independently of any batch bookkeeping.

* a batch ``posted`` holds exactly the file's rows as lines (count, sum of debits, sum zero),
  every entry of it posted; a batch in any other status holds no entry at all; no imported entry
  without a batch;
* the same file is never posted twice (by batch, and by its rows' key in the ledger);
* an acknowledged upload (201) is posted; an accepted job (202) ends posted, rejected or failed,
  never left pending or running; a refused upload (4xx) posted nothing; an unknown one resolved to
  present or absent.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from decimal import Decimal

FINAL = ("posted", "rejected", "failed", "superseded")


def _rows(conn, sql: str, params=None) -> list[tuple]:
    return conn.execute(sql, params or {}).fetchall()


def import_state(db, org: int) -> dict:
    """What the database holds: batches, what each batch's entries hold, lines per file key."""
    batches = {r[0]: {"id": r[0], "entity": r[1], "sha256": r[2], "status": r[3], "started_at": r[4],
                      "finished_at": r[5], "created_at": r[6]}
               for r in _rows(db, """
        SELECT b.id, e.code, b.sha256, b.status, extract(epoch FROM b.started_at), extract(epoch FROM b.finished_at),
               extract(epoch FROM b.created_at)
          FROM ledger_importbatch b JOIN tenancy_entity e ON e.id = b.entity_id
         WHERE b.organisation_id = %(org)s""", {"org": org})}
    posted = {r[0]: {"entries": r[1], "lines": r[2], "debits": Decimal(r[3]), "total": Decimal(r[4]),
                     "unposted_entries": r[5]}
              for r in _rows(db, """
        SELECT e.import_batch_id, count(DISTINCT e.id), count(l.id),
               coalesce(sum(l.functional_amount) FILTER (WHERE l.functional_amount > 0), 0),
               coalesce(sum(l.functional_amount), 0), count(DISTINCT e.id) FILTER (WHERE e.status <> 'posted')
          FROM ledger_journalentry e LEFT JOIN ledger_journalline l ON l.entry_id = e.id
         WHERE e.organisation_id = %(org)s AND (e.import_batch_id IS NOT NULL OR e.source = 'import')
         GROUP BY 1""", {"org": org})}
    by_key = dict(_rows(db, r"""
        SELECT substring(l.memo FROM '^imp:(\S+) doc'), count(*) FROM ledger_journalline l
         WHERE l.organisation_id = %(org)s AND l.memo LIKE 'imp:%%' GROUP BY 1""", {"org": org}))
    return {"batches": batches, "posted": posted, "lines_by_key": by_key}


def check_imports(report, records: list[dict], state: dict) -> dict[str, dict]:
    """Apply the rules; returns the files (by key) with their uploads and what the database holds."""
    batches, held, lines_by_key = state["batches"], state["posted"], state["lines_by_key"]
    files: dict[str, dict] = {}
    for r in (r for r in records if r["kind"] == "import"):
        f = files.setdefault(r["key"], {"sha256": r["sha256"], "entity": r["entity"], "rows": r["rows"],
                                        "debits": Decimal(r["debits"]), "acked": set(), "queued": set(),
                                        "failed": [], "unknown": 0, "uploads": 0, "resent": 0,
                                        "first_t0": r["t0"]})
        f["uploads"] += 1
        f["resent"] += bool(r["duplicate_of"])
        if r["outcome"] == "ok":
            (f["queued"] if r["queued"] else f["acked"]).add(r["batch_id"])
        elif r["outcome"] == "failed":
            f["failed"].append(r["code"])
        else:
            f["unknown"] += 1
    fig = Counter(files=len(files), uploads=sum(f["uploads"] for f in files.values()),
                  resent=sum(f["resent"] for f in files.values()))
    by_file = defaultdict(list)
    for b in batches.values():
        by_file[(b["entity"], b["sha256"])].append(b)
        fig[f"batches_{b['status']}"] += 1

    # Per batch: whole or nothing.
    for bid, b in sorted(batches.items()):
        h = held.get(bid)
        if b["status"] == "posted":
            f = next((f for f in files.values() if (f["entity"], f["sha256"]) == (b["entity"], b["sha256"])), None)
            if h is None or h["unposted_entries"]:
                report.violate("import_partial", f"batch {bid} is posted but holds {h}")
            elif f is not None and (h["lines"], h["debits"], h["total"]) != (f["rows"], f["debits"], Decimal(0)):
                report.violate("import_mismatch", f"batch {bid}: {h['lines']} lines, debits {h['debits']}, sum "
                                                  f"{h['total']} ≠ the file's {f['rows']} rows, debits {f['debits']}")
            fig["lines_imported"] += h["lines"] if h else 0
        elif h is not None:
            report.violate("import_partial", f"batch {bid} is {b['status']} but {h['entries']} entries "
                                             f"({h['lines']} lines) carry it")
    for bid in set(held) - set(batches):
        report.violate("import_orphan", f"{held[bid]['entries']} imported entries point at no batch ({bid})")

    # Per file: at most once, and as the client was told.
    for key, f in sorted(files.items()):
        posted = [b for b in by_file.get((f["entity"], f["sha256"]), []) if b["status"] == "posted"]
        in_ledger = lines_by_key.get(key, 0)
        if len(posted) > 1 or in_ledger > f["rows"]:
            report.violate("import_duplicated", f"{key}: {len(posted)} posted batches, {in_ledger} lines in the "
                                                f"ledger for a file of {f['rows']} rows")
        elif in_ledger != (f["rows"] if posted else 0):
            report.violate("import_partial", f"{key}: {in_ledger} of {f['rows']} rows in the ledger, "
                                             f"{len(posted)} posted batch(es)")
        for bid in f["acked"]:
            if batches.get(bid, {}).get("status") != "posted":
                report.violate("import_lost", f"{key}: acknowledged as posted batch {bid}, now "
                                              f"{batches.get(bid, {}).get('status')}")
        for bid in f["queued"]:
            status = batches.get(bid, {}).get("status")
            if status not in FINAL:
                report.violate("import_stuck", f"{key}: queued batch {bid} is {status} after the queue drained")
        fig["queued"] += len(f["queued"])
        f["present"] = bool(posted)
        if f["acked"] or f["queued"]:
            fig["accepted"] += 1
        elif f["unknown"]:
            fig["unknown_only"] += 1
            fig["resolved_present" if posted else "resolved_absent"] += 1
        else:
            fig["refused"] += 1
            if posted:
                report.violate("import_phantom", f"{key}: every upload refused ({f['failed']}) but batch "
                                                 f"{posted[0]['id']} is posted")
        for code in f["failed"]:
            fig[f"refused_code:{code}"] += 1
    left = [b for b in batches.values() if b["status"] not in FINAL]
    fig["left_unfinished"] = len(left)  # inline uploads cut mid-request: nothing posted (checked above)
    report.figures["imports"] = dict(fig)
    return files
