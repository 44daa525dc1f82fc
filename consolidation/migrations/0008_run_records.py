"""A finished run is a record (issue #17): its results never change
(consolidation/sql/0008_run_records.sql), so the run's history keeps no copy of them; the
results column is compressed with lz4."""
from pathlib import Path

from django.db import migrations

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"


class Migration(migrations.Migration):

    dependencies = [
        ('consolidation', '0007_ic_worklist'),
    ]

    operations = [
        migrations.RemoveField(
            model_name='historicalconsolidationrun',
            name='results',
        ),
        migrations.RunSQL((SQL_DIR / "0008_run_records.sql").read_text(),
                          (SQL_DIR / "0008_run_records_reverse.sql").read_text()),
    ]
