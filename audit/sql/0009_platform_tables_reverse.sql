DROP TRIGGER IF EXISTS audit_capture_platform ON auth_user;
DROP TRIGGER IF EXISTS audit_capture_platform ON auth_group;
DROP TRIGGER IF EXISTS audit_capture_platform ON auth_user_groups;
DROP TRIGGER IF EXISTS audit_capture_platform ON auth_group_permissions;
DROP TRIGGER IF EXISTS audit_capture_platform ON auth_user_user_permissions;
DROP TRIGGER IF EXISTS audit_capture_platform ON access_apitoken;
DROP TRIGGER IF EXISTS audit_capture_platform ON otp_totp_totpdevice;
DROP FUNCTION IF EXISTS audit_capture_platform();
