DROP TRIGGER IF EXISTS tenancy_permission_grant_guard ON tenancy_entityuserobjectpermission;
DROP TRIGGER IF EXISTS tenancy_permission_grant_guard ON tenancy_entitygroupobjectpermission;
DROP FUNCTION IF EXISTS tenancy_permission_grant_guard();
DROP TRIGGER IF EXISTS tenancy_entity_identity_guard ON tenancy_entity;
DROP FUNCTION IF EXISTS tenancy_entity_identity_guard();
DROP FUNCTION IF EXISTS sheshi_history_rows_guard();
DROP FUNCTION IF EXISTS sheshi_actor_may(bigint, text);
