from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "sheshi.access"
    label = "access"
    verbose_name = "Access: roles and API tokens"
