#!/usr/bin/env python
"""Django's command-line utility for Sheshi. Settings default to production: set
DJANGO_SETTINGS_MODULE=sheshi.settings.dev for local work (the Makefile does)."""
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sheshi.settings.prod")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
