from django.db import migrations

from audit.operations import attach_audit


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_core"), ("tenancy", "0002_row_level_security")]

    operations = [
        attach_audit("tenancy_organisation", object_type="tenancy.organisation", org_column="id"),
        attach_audit("tenancy_entity", object_type="tenancy.entity"),
        attach_audit("tenancy_membership", object_type="tenancy.membership"),
        # Guardian's per-entity grants: permission changes, organisation through the entity.
        attach_audit("tenancy_entityuserobjectpermission", object_type="tenancy.entityuserobjectpermission",
                     org_column="content_object_id", org_via="entity"),
        attach_audit("tenancy_entitygroupobjectpermission", object_type="tenancy.entitygroupobjectpermission",
                     org_column="content_object_id", org_via="entity"),
    ]
