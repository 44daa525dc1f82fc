"""One Idempotency-Key, one use across every create endpoint, also for two requests racing with
the same key to two endpoints: ledger/sql/0029_idempotency_key_one_use.sql."""
from pathlib import Path

from django.db import migrations

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"


class Migration(migrations.Migration):
    dependencies = [("ledger", "0028_analyze_when_doubled"), ("sheshi_api", "0003_schedule_idempotency_purge")]

    operations = [migrations.RunSQL((SQL_DIR / "0029_idempotency_key_one_use.sql").read_text(),
                                    (SQL_DIR / "0029_idempotency_key_one_use_reverse.sql").read_text())]
