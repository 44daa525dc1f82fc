from django.contrib.admin.apps import AdminConfig


class SheshiAdminConfig(AdminConfig):
    """django.contrib.admin whose default site asks for a TOTP code from users with a device."""

    default_site = "sheshi.security.admin_site.SheshiAdminSite"
