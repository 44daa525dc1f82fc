"""The admin site with an optional TOTP second factor (django-otp).

With ``SHESHI_ADMIN_REQUIRE_OTP`` on (the default), a user who has a confirmed TOTP device must
enter a current code at the admin login, and a session that was not verified by that device is
not let into the admin. Users without a device sign in with their password alone: enrolment is
optional, enforcement for the enrolled is not. With the setting off, no code is asked for.
"""
from __future__ import annotations

from django.conf import settings
from django.contrib.admin import AdminSite
from django.contrib.admin.forms import AdminAuthenticationForm
from django.urls import reverse
from django_otp import user_has_device
from django_otp.admin import OTPAdminAuthenticationForm

from sheshi.access.roles import VIEW
from sheshi.admin_links import add_links
from sheshi.tenancy.scoping import entity_ids_for


def otp_required_for(user) -> bool:
    return bool(settings.SHESHI_ADMIN_REQUIRE_OTP and user is not None and user.is_authenticated
                and user_has_device(user, confirmed=True))


class OptionalOTPAdminAuthenticationForm(OTPAdminAuthenticationForm):
    """Password first; then a TOTP code only if the user has a confirmed device."""

    def clean(self):
        self.cleaned_data = AdminAuthenticationForm.clean(self)
        user = self.get_user()
        if otp_required_for(user):
            self.clean_otp(user)  # sets user.otp_device; django-otp stores it in the session on login
        return self.cleaned_data


class SheshiAdminSite(AdminSite):
    login_form = OptionalOTPAdminAuthenticationForm
    login_template = "otp/admin111/login.html"  # django-otp's admin login with the code field

    # The report pages live under ledger's Balance admin; on the index and in the side menu they
    # get their own section, shown to anyone who may view some entity's figures.
    REPORT_PAGES = (("Trial balance", "admin:ledger_trial_balance"), ("General ledger", "admin:ledger_general_ledger"),
                    ("Income statement", "admin:ledger_income_statement"),
                    ("Balance sheet", "admin:ledger_balance_sheet"))

    def get_app_list(self, request, app_label=None):
        apps = add_links(request, super().get_app_list(request, app_label))
        if app_label is None and self._may_read_reports(request):
            apps.insert(0, {"name": "Reports", "app_label": "reports", "app_url": reverse("admin:ledger_trial_balance"),
                            "has_module_perms": True,
                            "models": [{"name": name, "object_name": url.rsplit("_", 2)[-2] + url.rsplit("_", 1)[-1],
                                        "admin_url": reverse(url), "add_url": None, "view_only": True, "perms": {}}
                                       for name, url in self.REPORT_PAGES]})
        return apps

    @staticmethod
    def _may_read_reports(request) -> bool:
        return bool(entity_ids_for(request.user, VIEW))

    def has_permission(self, request):
        if not super().has_permission(request):
            return False
        user = request.user
        return not otp_required_for(user) or user.is_verified()
