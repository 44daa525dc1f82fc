"""audit_capture()'s per-row path: one jsonb per row, the organisation read inline, the canonical
serialisation inlined (audit/sql/0008_capture_row_path.sql). Same events and hashes."""
from pathlib import Path

from django.db import migrations

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"


class Migration(migrations.Migration):
    dependencies = [("audit", "0007_capture_digest")]

    operations = [
        migrations.RunSQL((SQL_DIR / "0008_capture_row_path.sql").read_text(),
                          (SQL_DIR / "0008_capture_row_path_reverse.sql").read_text()),
    ]
