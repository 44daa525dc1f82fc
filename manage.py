#!/usr/bin/env python
"""Django's command-line utility for Sheshi. Settings default to production: set
DJANGO_SETTINGS_MODULE=sheshi.settings.dev for local work (the Makefile does)."""
import os
import sys

# Commands that serve web requests log in as the web role; every other command (the django-q2 worker,
# operators' commands) as the jobs role when DATABASE_JOBS_URL is given: only its sessions may take
# the all-organisations scope (SECURITY.md, "What the database takes on trust").
WEB_COMMANDS = {"runserver", "testserver"}


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sheshi.settings.prod")
    os.environ.setdefault("SHESHI_DB_AS", "web" if sys.argv[1:2] and sys.argv[1] in WEB_COMMANDS else "jobs")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
