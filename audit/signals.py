"""Logins and logouts go into the audit log (Django's auth signals are the only hook for them)."""
from __future__ import annotations

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from audit.services.events import auth_event_record


@receiver(user_logged_in, dispatch_uid="audit_user_logged_in")
def _logged_in(sender, request, user, **kwargs):
    auth_event_record(action="login.succeeded", username=user.get_username(), user_id=user.pk, request=request)


@receiver(user_logged_out, dispatch_uid="audit_user_logged_out")
def _logged_out(sender, request, user, **kwargs):
    if user is not None:
        auth_event_record(action="logout", username=user.get_username(), user_id=user.pk, request=request)


@receiver(user_login_failed, dispatch_uid="audit_user_login_failed")
def _login_failed(sender, credentials, request=None, **kwargs):
    from django.contrib.auth import get_user_model

    User = get_user_model()
    username = str(credentials.get(User.USERNAME_FIELD) or credentials.get("username") or "")[:150]
    user_id = User._default_manager.filter(**{User.USERNAME_FIELD: username}).values_list("pk", flat=True).first()
    auth_event_record(action="login.failed", username=username, user_id=user_id, request=request)
