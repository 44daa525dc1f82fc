"""audit_capture(): the bulk summary's digest hashes each row before grouping (same digest)."""
from pathlib import Path

from django.db import migrations

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"


class Migration(migrations.Migration):
    dependencies = [("audit", "0006_schedule_webhook_dispatch")]

    operations = [
        migrations.RunSQL((SQL_DIR / "0007_capture_digest.sql").read_text(),
                          (SQL_DIR / "0007_capture_digest_reverse.sql").read_text()),
    ]
