from django.apps import AppConfig


class PeriodsConfig(AppConfig):
    name = "periods"
    verbose_name = "Periods and close"
