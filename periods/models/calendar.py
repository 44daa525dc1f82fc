"""Fiscal calendars: an organisation's years and periods; entities follow their organisation's."""
from __future__ import annotations

from django.db import models

from sheshi.history import history
from sheshi.tenancy.models import Organisation


class FiscalYear(models.Model):
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="fiscal_years")
    code = models.CharField(max_length=16)  # "FY2026": named after the calendar year it ends in
    start_date = models.DateField()
    end_date = models.DateField()
    history = history()

    class Meta:
        ordering = ["organisation_id", "start_date"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "code"], name="fiscal_year_code_unique"),
            models.UniqueConstraint(fields=["organisation", "start_date"], name="fiscal_year_start_unique"),
            models.CheckConstraint(condition=models.Q(end_date__gt=models.F("start_date")),
                                   name="fiscal_year_dates_ordered"),
        ]

    def __str__(self) -> str:
        return self.code


class Period(models.Model):
    """A month of a fiscal year (1-12) or its adjustment period 13 (dated on the year's last day)."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="periods")
    fiscal_year = models.ForeignKey(FiscalYear, on_delete=models.PROTECT, related_name="periods")
    number = models.PositiveSmallIntegerField()
    code = models.CharField(max_length=16)  # "2026-03" (calendar month) or "FY2026-13"
    start_date = models.DateField()
    end_date = models.DateField()
    history = history()

    class Meta:
        ordering = ["organisation_id", "start_date", "number"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "code"], name="period_code_unique"),
            models.UniqueConstraint(fields=["fiscal_year", "number"], name="period_number_unique"),
            models.CheckConstraint(condition=models.Q(number__gte=1, number__lte=13), name="period_number_range"),
            models.CheckConstraint(condition=models.Q(end_date__gte=models.F("start_date")),
                                   name="period_dates_ordered"),
        ]

    def __str__(self) -> str:
        return self.code

    @property
    def is_adjustment(self) -> bool:
        return self.number == 13
