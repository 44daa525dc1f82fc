"""Re-encrypt every encrypted column under the current (first) key, in batches.

    manage.py rotate_field_keys --generate     # print a new key to put first in SHESHI_FIELD_KEYS
    manage.py rotate_field_keys [--batch 1000] # re-encrypt rows not yet under the first key

Rotation: prepend a new key (``SHESHI_FIELD_KEYS=new,old``), deploy, run this command, then
drop the old key. Each batch is one transaction: rows are read in primary-key order with
FOR UPDATE, decrypted with any configured key, re-encrypted with the first, and written back in
one UPDATE … FROM (VALUES …). Rows already under the first key are skipped, so the command can
be interrupted and run again. Row-level security is opened with the system scope.
"""
from __future__ import annotations

from cryptography.fernet import InvalidToken
from django.core.management.base import BaseCommand
from django.db import connection, transaction

from sheshi.db.context import system_context
from sheshi.security.crypto import FieldKeyError, cipher, encrypted_fields, generate_key, primary_cipher


def rotate_table(table: str, pk: str, columns: list[str], batch: int) -> tuple[int, int]:
    """Returns (rows examined, values re-encrypted)."""
    multi, first = cipher(), primary_cipher()
    # SQL is composed only from model metadata (table and column names, quoted); values are bound.
    qn = connection.ops.quote_name
    cols = ", ".join(qn(c) for c in columns)
    examined = rewritten = 0
    last = None
    while True:
        with transaction.atomic(), connection.cursor() as cur:
            where = f"WHERE {qn(pk)} > %s " if last is not None else ""
            cur.execute(f"SELECT {qn(pk)}, {cols} FROM {qn(table)} {where}ORDER BY {qn(pk)} LIMIT %s FOR UPDATE",  # nosec B608
                        ([last] if last is not None else []) + [batch])
            rows = cur.fetchall()
            if not rows:
                return examined, rewritten
            last = rows[-1][0]
            examined += len(rows)
            updates = []
            for row in rows:
                new_values, changed = [], False
                for token in row[1:]:
                    if token is None:
                        new_values.append(None)
                        continue
                    try:
                        first.decrypt(token.encode())
                        new_values.append(token)  # already under the current key
                    except InvalidToken:
                        try:
                            new_values.append(multi.rotate(token.encode()).decode())
                        except InvalidToken as exc:
                            raise FieldKeyError(f"{table} row {row[0]}: no configured key decrypts it.") from exc
                        changed = True
                        rewritten += 1
                if changed:
                    updates.append((row[0], *new_values))
            if updates:
                values = ", ".join("(" + ", ".join(["%s::bigint"] + ["%s::text"] * len(columns)) + ")" for _ in updates)
                sets = ", ".join(f"{qn(c)} = v.{qn(c)}" for c in columns)
                names = ", ".join([qn(pk), *[qn(c) for c in columns]])
                cur.execute(f"UPDATE {qn(table)} t SET {sets} FROM (VALUES {values}) AS v({names}) "  # nosec B608
                            f"WHERE t.{qn(pk)} = v.{qn(pk)}", [x for u in updates for x in u])


class Command(BaseCommand):
    help = "Re-encrypt encrypted fields under the first key of SHESHI_FIELD_KEYS (or --generate a key)."

    def add_arguments(self, parser):
        parser.add_argument("--generate", action="store_true", help="Print a new Fernet key and exit.")
        parser.add_argument("--batch", type=int, default=1000)

    def handle(self, *args, generate: bool = False, batch: int = 1000, **options):
        if generate:
            self.stdout.write(generate_key())
            return
        tables: dict[tuple[str, str], list[str]] = {}
        for model, field in encrypted_fields():
            tables.setdefault((model._meta.db_table, model._meta.pk.column), []).append(field.column)
        with system_context("rotate_field_keys"):
            for (table, pk), columns in sorted(tables.items()):
                examined, rewritten = rotate_table(table, pk, columns, batch)
                self.stdout.write(f"{table}: {examined} rows examined, {rewritten} values re-encrypted")
