"""The audit trail for governed tables that had none (issue #14): user accounts, groups and
their permissions, API tokens and second-factor devices on the platform chain (secrets
redacted, login counters ignored: audit/sql/0009_platform_tables.sql), and entity bank details
with the ordinary capture. Consolidation inputs are attached by consolidation/0005."""
from pathlib import Path

from django.db import migrations

from audit.operations import attach_audit

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0008_capture_row_path"),
        ("access", "0001_initial"),
        ("security", "0001_entity_bank_details"),
        ("otp_totp", "0003_add_timestamps"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        migrations.RunSQL((SQL_DIR / "0009_platform_tables.sql").read_text(),
                          (SQL_DIR / "0009_platform_tables_reverse.sql").read_text()),
        attach_audit("security_entitybankdetails", object_type="security.entitybankdetails"),
    ]
