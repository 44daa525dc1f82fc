"""The datasets of an evidence archive: each a name, its columns and a stream of rows.

Large tables (journals, lines, audit events) are read through server-side cursors in chunks
(``chunked_cursor``), so a ledger of millions of lines never sits in memory. Every query is
bounded to the archive's organisation, entities and periods; the archive builder runs them all
in one REPEATABLE READ snapshot, on the connection it pinned (``read_alias()``: the replica or
the primary), so the datasets agree with each other.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connections

from audit.canonical import parse_json
from ledger.selectors.lock_snapshots import lock_snapshot_verify, snapshot_hash
from ledger.selectors.reports import trial_balance
from periods.models import Period, PeriodLockSnapshot
from sheshi.access.roles import ROLE_PERMISSIONS
from sheshi.db.replica import read_alias
from sheshi.money import quantize_amount
from sheshi.tenancy.models import Entity, Organisation

CHUNK = 2000


@dataclass(frozen=True)
class EvidenceScope:
    """What one archive covers. ``full`` when it holds every entity of the organisation: only
    then does it carry the content of every audit event (see audit_event_rows)."""

    organisation: Organisation
    entities: list[Entity]
    periods: list[Period]
    full: bool

    @property
    def entity_ids(self) -> list[int]:
        return [e.pk for e in self.entities]

    @property
    def period_ids(self) -> list[int]:
        return [p.pk for p in self.periods]


def _stream(sql: str, params: dict[str, Any]) -> Iterator[tuple]:
    """Rows of ``sql`` through a server-side cursor, ``CHUNK`` at a time."""
    with connections[read_alias()].chunked_cursor() as cur:
        cur.execute(sql, params)
        while rows := cur.fetchmany(CHUNK):
            yield from rows


ENTITY_COLUMNS = ("entity_id", "code", "name", "functional_currency", "country", "is_active")


def entity_rows(scope: EvidenceScope) -> Iterator[Sequence[Any]]:
    for e in scope.entities:
        yield (e.pk, e.code, e.name, e.functional_currency, e.country, e.is_active)


TRIAL_BALANCE_COLUMNS = ("entity", "period", "account_code", "account_name", "account_type", "account_kind", "depth",
                         "debit", "credit", "net")
TRIAL_BALANCE_TOTAL_COLUMNS = ("entity", "period", "total_debit", "total_credit", "reconciles")


@dataclass
class TrialBalanceTotals:
    """Each trial balance's totals, collected while its rows stream (a dataset of its own)."""

    rows: list[tuple] = field(default_factory=list)


def trial_balance_rows(scope: EvidenceScope, totals: TrialBalanceTotals) -> Iterator[Sequence[Any]]:
    """Each entity's trial balance at the end of each period (ledger.selectors.reports.trial_balance:
    balance-sheet accounts cumulative, income and expense from the fiscal year's start). Figures
    are sums of 4-place amounts, written at that scale (a group with no credit shows 0.0000)."""
    for entity in scope.entities:
        for period in scope.periods:
            tb = trial_balance(entity=entity, period=period)
            for r in tb.rows:
                yield (entity.code, period.code, r.code, r.name, r.type, r.kind, r.depth, quantize_amount(r.debit),
                       quantize_amount(r.credit), quantize_amount(r.net))
            totals.rows.append((entity.code, period.code, quantize_amount(tb.total_debit),
                                quantize_amount(tb.total_credit), tb.reconciles))


JOURNAL_COLUMNS = (
    "entry_id", "entity", "period", "entry_date", "description", "source", "status", "reverses_entry_id",
    "reversed_by_entry_id", "created_by", "created_at", "submitted_by", "submitted_at", "approved_by", "approved_at",
    "posted_by", "posted_at", "import_batch_id", "import_file_name", "import_file_sha256", "line_count",
    "functional_debit", "functional_credit")


def journal_rows(scope: EvidenceScope) -> Iterator[Sequence[Any]]:
    """Every entry of the scope's entities and periods, whatever its status, with who prepared,
    submitted, approved and posted it and when, its reversal links and its import file."""
    yield from _stream("""
        SELECT e.id, en.code, p.code, e.entry_date, e.description, e.source, e.status, e.reverses_id, r.id,
               cu.username, e.created_at, su.username, e.submitted_at, au.username, e.approved_at,
               pu.username, e.posted_at, e.import_batch_id, b.file_name, b.sha256,
               coalesce(t.n, 0), coalesce(t.d, 0.0000), coalesce(t.c, 0.0000)
          FROM ledger_journalentry e
          JOIN tenancy_entity en ON en.id = e.entity_id
          JOIN periods_period p ON p.id = e.period_id
          LEFT JOIN ledger_journalentry r ON r.reverses_id = e.id
          LEFT JOIN auth_user cu ON cu.id = e.created_by_id
          LEFT JOIN auth_user su ON su.id = e.submitted_by_id
          LEFT JOIN auth_user au ON au.id = e.approved_by_id
          LEFT JOIN auth_user pu ON pu.id = e.posted_by_id
          LEFT JOIN ledger_importbatch b ON b.id = e.import_batch_id
          LEFT JOIN LATERAL (
              SELECT count(*) AS n, sum(greatest(l.functional_amount, 0.0000)) AS d,
                     sum(greatest(-l.functional_amount, 0.0000)) AS c
                FROM ledger_journalline l WHERE l.entry_id = e.id) t ON true
         WHERE e.organisation_id = %(org)s AND e.entity_id = ANY(%(entities)s) AND e.period_id = ANY(%(periods)s)
         ORDER BY e.id""",
        {"org": scope.organisation.pk, "entities": scope.entity_ids, "periods": scope.period_ids})


LINE_COLUMNS = (
    "line_id", "entry_id", "entry_status", "line_no", "entity", "period", "account_code", "currency", "amount", "rate",
    "functional_amount", "functional_debit", "functional_credit", "counterparty", "dimensions", "memo",
    "import_batch_id", "source_row", "source_raw")


def journal_line_rows(scope: EvidenceScope) -> Iterator[Sequence[Any]]:
    rows = _stream("""
        SELECT l.id, l.entry_id, e.status, l.line_no, en.code, p.code, a.code, l.currency, l.amount, l.rate,
               l.functional_amount, greatest(l.functional_amount, 0.0000), greatest(-l.functional_amount, 0.0000),
               cp.code,
               l.dimensions::text, l.memo, l.import_batch_id, l.source_row, l.source_raw
          FROM ledger_journalline l
          JOIN ledger_journalentry e ON e.id = l.entry_id
          JOIN tenancy_entity en ON en.id = l.entity_id
          JOIN periods_period p ON p.id = l.period_id
          JOIN ledger_account a ON a.id = l.account_id
          LEFT JOIN tenancy_entity cp ON cp.id = l.counterparty_id
         WHERE l.organisation_id = %(org)s AND l.entity_id = ANY(%(entities)s) AND l.period_id = ANY(%(periods)s)
         ORDER BY l.entry_id, l.line_no""",
                   {"org": scope.organisation.pk, "entities": scope.entity_ids, "periods": scope.period_ids})
    for r in rows:
        yield (*r[:14], parse_json(r[14]), *r[15:])


ENTITY_PERIOD_COLUMNS = ("entity_period_id", "entity", "period", "period_start", "period_end", "state", "changed_by",
                         "changed_at", "reason")


def entity_period_rows(scope: EvidenceScope) -> Iterator[Sequence[Any]]:
    yield from _stream("""
        SELECT ep.id, en.code, p.code, p.start_date, p.end_date, ep.state, u.username, ep.changed_at, ep.reason
          FROM periods_entityperiod ep
          JOIN tenancy_entity en ON en.id = ep.entity_id
          JOIN periods_period p ON p.id = ep.period_id
          LEFT JOIN auth_user u ON u.id = ep.changed_by_id
         WHERE ep.organisation_id = %(org)s AND ep.entity_id = ANY(%(entities)s) AND ep.period_id = ANY(%(periods)s)
         ORDER BY en.code, p.start_date, p.number""",
        {"org": scope.organisation.pk, "entities": scope.entity_ids, "periods": scope.period_ids})


SNAPSHOT_COLUMNS = (
    "snapshot_id", "entity_period_id", "entity", "period", "period_state", "taken_at", "taken_by", "line_count",
    "sha256", "stored_rows_sha256", "stored_rows_match", "is_latest", "recomputed_sha256", "figures_unchanged")
SNAPSHOT_ROW_COLUMNS = ("snapshot_id", "entity", "period", "account_code", "currency", "amount", "functional_net",
                        "line_count")


@dataclass
class SnapshotChecks:
    """The recomputation results the manifest reports (filled while the rows stream)."""

    checked: int = 0
    unchanged: int = 0
    stored_mismatch: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"snapshots_checked": self.checked, "figures_unchanged": self.unchanged,
                "figures_changed": self.changed, "stored_rows_mismatch": self.stored_mismatch}


def _snapshots(scope: EvidenceScope):
    return (PeriodLockSnapshot.objects.using(read_alias())
            .filter(organisation_id=scope.organisation.pk, entity_period__entity_id__in=scope.entity_ids,
                    entity_period__period_id__in=scope.period_ids)
            .select_related("entity_period__entity", "entity_period__period", "taken_by")
            .order_by("entity_period__entity__code", "entity_period__period__start_date",
                      "entity_period__period__number", "taken_at", "id"))


def lock_snapshot_rows(scope: EvidenceScope, checks: SnapshotChecks) -> Iterator[Sequence[Any]]:
    """Every lock snapshot with its stored hash, whether its stored rows still hash to it, and —
    for the latest snapshot of each entity-period — the hash of the figures recomputed now
    (ledger.selectors.lock_snapshots.lock_snapshot_verify)."""
    latest = dict(PeriodLockSnapshot.objects.using(read_alias()).filter(organisation_id=scope.organisation.pk)
                  .order_by("entity_period_id", "-taken_at", "-id").distinct("entity_period_id")
                  .values_list("entity_period_id", "id"))
    for snap in _snapshots(scope).iterator(chunk_size=100):
        ep = snap.entity_period
        label = f"{ep.entity.code} {ep.period.code} snapshot {snap.pk}"
        stored = snapshot_hash(snap.trial_balance)
        is_latest = latest.get(ep.pk) == snap.pk
        recomputed, unchanged = None, None
        if is_latest:
            unchanged, _, recomputed = lock_snapshot_verify(entity_period_id=ep.pk)
            checks.checked += 1
            checks.unchanged += int(unchanged)
            if not unchanged:
                checks.changed.append(label)
        if stored != snap.sha256:
            checks.stored_mismatch.append(label)
        yield (snap.pk, ep.pk, ep.entity.code, ep.period.code, ep.state, snap.taken_at,
               snap.taken_by.get_username() if snap.taken_by else None, snap.line_count, snap.sha256, stored,
               stored == snap.sha256, is_latest, recomputed, unchanged)


def lock_snapshot_detail_rows(scope: EvidenceScope) -> Iterator[Sequence[Any]]:
    """The figures each snapshot recorded (amounts stored as text, written as exact decimals)."""
    for snap in _snapshots(scope).iterator(chunk_size=100):
        ep = snap.entity_period
        for code, currency, amount, net, count in snap.trial_balance:
            yield (snap.pk, ep.entity.code, ep.period.code, code, currency, Decimal(amount), Decimal(net), int(count))


AUDIT_EVENT_COLUMNS = (
    "seq", "event_id", "occurred_at", "txid", "actor_id", "actor_label", "request_id", "client_addr", "action",
    "object_type", "object_id", "changes", "content_hash", "prev_hash", "hash", "content_withheld")


def audit_event_rows(scope: EvidenceScope, head_seq: int) -> Iterator[Sequence[Any]]:
    """The organisation's whole chain, from seq 1 up to the head the archive reports, in
    sequence order with each link's hashes: the archive alone lets an auditor recompute the
    links from the genesis hash to the head (audit/evidence/verify.py does).

    ``changes`` is the event's jsonb text exactly as stored (so its canonical hash can be
    recomputed: audit/canonical.py). An archive limited to some of the organisation's entities
    (an auditor holding the permission on those only) withholds the actor and the changes of
    events it cannot attribute to one of them; their hashes and place in the chain stay."""
    ids = [str(i) for i in scope.entity_ids]
    rows = _stream("""
        SELECT c.seq, c.event_id, e.occurred_at, e.txid, e.actor_id, e.actor_label, e.request_id, e.client_addr,
               e.action, e.object_type, e.object_id, e.changes::text, e.content_hash, c.prev_hash, c.hash,
               -- NULL (no entity found) must count as "not attributable": withheld
               NOT coalesce(%(full)s
                    OR (e.object_type = 'tenancy.entity' AND e.object_id = ANY(%(ids)s))
                    OR coalesce(e.changes -> 'after' ->> 'entity_id', e.changes -> 'before' ->> 'entity_id',
                                e.changes -> 'after' ->> 'content_object_id',
                                e.changes -> 'before' ->> 'content_object_id') = ANY(%(ids)s), false)
          FROM audit_chain c LEFT JOIN audit_event e ON e.id = c.event_id
         WHERE c.organisation_id = %(org)s AND c.seq <= %(head)s
         ORDER BY c.seq""",
                   {"org": scope.organisation.pk, "head": head_seq, "full": scope.full, "ids": ids})
    for r in rows:
        withheld = bool(r[15])
        if withheld:
            r = (*r[:4], None, None, None, None, *r[8:11], None, *r[12:15])
        yield (*r[:15], withheld)


MEMBER_COLUMNS = ("user_id", "username", "user_active", "is_superuser", "is_staff", "last_login", "is_member",
                  "membership_active", "is_org_admin", "member_since")


def member_rows(scope: EvidenceScope) -> Iterator[Sequence[Any]]:
    """The organisation's members (with the org-admin flag) and every platform superuser."""
    yield from _stream("""
        SELECT u.id, u.username, u.is_active, u.is_superuser, u.is_staff, u.last_login, m.id IS NOT NULL,
               m.is_active, m.is_org_admin, m.created_at
          FROM auth_user u
          LEFT JOIN tenancy_membership m ON m.user_id = u.id AND m.organisation_id = %(org)s
         WHERE m.id IS NOT NULL OR u.is_superuser
         ORDER BY u.username""",
        {"org": scope.organisation.pk})


PERMISSION_COLUMNS = ("principal_type", "principal_id", "principal", "entity", "permission", "grant_id")

_PERMISSIONS_SQL = """
    SELECT 'user', u.id, u.username, en.code, ct.app_label || '.' || perm.codename, g.id
      FROM tenancy_entityuserobjectpermission g
      JOIN auth_user u ON u.id = g.user_id
      JOIN auth_permission perm ON perm.id = g.permission_id
      JOIN django_content_type ct ON ct.id = perm.content_type_id
      JOIN tenancy_entity en ON en.id = g.content_object_id
     WHERE g.content_object_id = ANY(%(entities)s)
    UNION ALL
    SELECT 'group', gr.id, gr.name, en.code, ct.app_label || '.' || perm.codename, g.id
      FROM tenancy_entitygroupobjectpermission g
      JOIN auth_group gr ON gr.id = g.group_id
      JOIN auth_permission perm ON perm.id = g.permission_id
      JOIN django_content_type ct ON ct.id = perm.content_type_id
      JOIN tenancy_entity en ON en.id = g.content_object_id
     WHERE g.content_object_id = ANY(%(entities)s)
     ORDER BY 4, 1, 3, 5"""


def permission_rows(scope: EvidenceScope) -> Iterator[Sequence[Any]]:
    """Every guardian object-permission row on the scope's entities (users and groups)."""
    yield from _stream(_PERMISSIONS_SQL, {"entities": scope.entity_ids})


ROLE_COLUMNS = ("principal_type", "principal", "entity", "roles", "permissions")


def roles_held(perms: set[str]) -> list[str]:
    """The roles whose whole permission set is held, minus any contained in another held role
    (guardian stores permissions, not roles: a controller also holds everything a viewer does)."""
    full = [role for role, needed in ROLE_PERMISSIONS.items() if set(needed) <= perms]
    return sorted(r.value for r in full
                  if not any(set(ROLE_PERMISSIONS[r]) < set(ROLE_PERMISSIONS[o]) for o in full))


def role_rows(scope: EvidenceScope) -> Iterator[Sequence[Any]]:
    """Who holds which role on which entity, derived from the permission rows."""
    current: tuple | None = None
    perms: set[str] = set()
    for kind, _pid, name, entity, perm, _gid in permission_rows(scope):
        key = (kind, name, entity)
        if key != current and current is not None:
            yield (*current, ";".join(roles_held(perms)), ";".join(sorted(perms)))
            perms = set()
        current = key
        perms.add(perm)
    if current is not None:
        yield (*current, ";".join(roles_held(perms)), ";".join(sorted(perms)))
