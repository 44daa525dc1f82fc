"""What stands between the schema and distributing tenant tables by ``organisation_id`` (Citus, or
organisations sharded across clusters): read from the catalogue of a migrated database.

``tenant_tables``: the project's tables (by app prefix), partitions excluded. Each finding is
(kind, table, constraint or index name, definition)."""
from __future__ import annotations

PROJECT_PREFIXES = ("tenancy_", "access_", "security_", "jobs_", "audit_", "ledger_", "periods_", "consolidation_")
ORG = "organisation_id"

TABLES = """
    SELECT c.oid, c.relname,
           EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = %s AND NOT a.attisdropped)
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = ANY (%s) AND c.relkind IN ('r', 'p') AND NOT c.relispartition"""

# Unique and primary keys, exclusion constraints, and unique indexes that back no constraint
# (Django's conditional UniqueConstraint is an index only).
KEYS = """
    SELECT con.conrelid, con.conname, pg_get_constraintdef(con.oid),
           EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = con.conrelid AND a.attname = %(org)s
                   AND a.attnum = ANY (con.conkey))
    FROM pg_constraint con WHERE con.contype IN ('p', 'u', 'x') AND con.conrelid = ANY (%(oids)s)
    UNION ALL
    SELECT i.indrelid, ic.relname, pg_get_indexdef(i.indexrelid),
           EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = i.indrelid AND a.attname = %(org)s
                   AND a.attnum = ANY (i.indkey::int2[]))
    FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
    WHERE i.indisunique AND i.indrelid = ANY (%(oids)s)
      AND NOT EXISTS (SELECT 1 FROM pg_constraint c2 WHERE c2.conindid = i.indexrelid)"""

FKS = """
    SELECT con.conrelid, con.conname, pg_get_constraintdef(con.oid), con.confrelid,
           EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = con.conrelid AND a.attname = %(org)s
                   AND a.attnum = ANY (con.conkey))
    FROM pg_constraint con WHERE con.contype = 'f' AND con.conrelid = ANY (%(oids)s)"""


def distribution_findings(cursor, schemas: tuple[str, ...] = ("public",)) -> dict[str, dict[str, str]]:
    """``{"no_organisation_column": {table: ""}, "keys": {name: definition}, "foreign_keys": {name: definition}}``:
    tenant tables without the column, keys without it, foreign keys between tenant tables without it.
    A foreign key to ``tenancy_organisation`` itself is the distribution column and is fine."""
    cursor.execute(TABLES, [ORG, list(schemas)])
    tables = {oid: (name, has_org) for oid, name, has_org in cursor.fetchall() if name.startswith(PROJECT_PREFIXES)}
    with_org = [oid for oid, (_, has_org) in tables.items() if has_org]
    findings: dict[str, dict[str, str]] = {"no_organisation_column": {}, "keys": {}, "foreign_keys": {}}
    for name, has_org in tables.values():
        if not has_org:
            findings["no_organisation_column"][name] = ""
    cursor.execute(KEYS, {"org": ORG, "oids": with_org})
    for relid, name, definition, includes in cursor.fetchall():
        if not includes:
            findings["keys"][name] = f"{tables[relid][0]}: {definition}"
    cursor.execute(FKS, {"org": ORG, "oids": with_org})
    for relid, name, definition, target, includes in cursor.fetchall():
        if target in tables and tables[target][1] and not includes:
            findings["foreign_keys"][name] = f"{tables[relid][0]}: {definition.split(' DEFERRABLE')[0]}"
    return findings
