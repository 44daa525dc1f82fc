"""line_currency_iso lists the most traded currencies first (sheshi/money.py ISO_4217_BY_USE): the
same codes, a cheaper check per line written (issue #17).

Not atomic, on purpose: the new check is added NOT VALID in the same statement that drops the old
one (a brief exclusive lock, no scan; new rows are checked at once), then validated by a second
statement, which scans the existing lines under a lock that lets postings go on. In one atomic
step the scan of a large ledger would hold the table's exclusive lock throughout."""
from django.db import migrations, models

from sheshi.money import ISO_4217, ISO_4217_BY_USE

ALPHABETICAL = tuple(sorted(ISO_4217))


def _swap(codes: tuple[str, ...]) -> str:
    listed = ", ".join(f"'{c}'" for c in codes)  # three capital letters each (sheshi/money.py)
    return ("ALTER TABLE ledger_journalline DROP CONSTRAINT line_currency_iso, "
            f"ADD CONSTRAINT line_currency_iso CHECK (currency IN ({listed})) NOT VALID")


VALIDATE = "ALTER TABLE ledger_journalline VALIDATE CONSTRAINT line_currency_iso"


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("ledger", "0029_idempotency_key_one_use")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveConstraint(model_name="journalline", name="line_currency_iso"),
                migrations.AddConstraint(model_name="journalline", constraint=models.CheckConstraint(
                    condition=models.Q(currency__in=ISO_4217_BY_USE), name="line_currency_iso")),
            ],
            database_operations=[
                migrations.RunSQL([_swap(ISO_4217_BY_USE)], [_swap(ALPHABETICAL), VALIDATE]),
                migrations.RunSQL([VALIDATE], migrations.RunSQL.noop),
            ]),
    ]
