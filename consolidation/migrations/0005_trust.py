"""Consolidation inputs under the audit trail and frozen by their entities' locks (issue #14):
groups, holdings, acquisition adjustments and their lines, FX rates
(consolidation/sql/0005_freeze.sql)."""
from pathlib import Path

from django.db import migrations

from audit.operations import attach_audit

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
AUDITED = ("consolidationgroup", "groupmember", "acquisitionadjustment", "adjustmentline", "fxrate")


class Migration(migrations.Migration):
    dependencies = [("consolidation", "0004_history_rls"), ("audit", "0009_attach_governed"),
                    ("periods", "0006_trust")]

    operations = [
        migrations.RunSQL((SQL_DIR / "0005_freeze.sql").read_text(), (SQL_DIR / "0005_freeze_reverse.sql").read_text()),
    ] + [attach_audit(f"consolidation_{name}", object_type=f"consolidation.{name}") for name in AUDITED]
