"""deploy/aws and the settings agree on names: every variable the ECS tasks get and every key of
the app secret is one the settings read, and every cloud setting the settings read (buckets,
queue, secret, region, KMS, Object Lock) is one Terraform sets. A rename on either side fails here
instead of silently falling back to a default in production."""
from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
AWS = ROOT / "deploy" / "aws"
# Where the settings read the environment and the secrets provider.
SETTINGS_SOURCES = [*sorted((ROOT / "sheshi" / "settings").glob("*.py")), ROOT / "sheshi" / "env.py",
                    ROOT / "sheshi" / "filestore" / "config.py", ROOT / "sheshi" / "security" / "secrets.py"]
READERS = {"str", "bool", "int", "float", "list", "path", "db_url", "get_secret", "get_secret_list", "get",
           "database_config", "env"}

# Set by Terraform, read by something other than the settings.
READ_ELSEWHERE = {"DJANGO_SETTINGS_MODULE": "Django itself", "WEB_CONCURRENCY": "gunicorn"}
# Keys of the app secret that are not settings.
SECRET_NOT_A_SETTING = {"SHESHI_APP_DB_PASSWORD": "the one-time role bootstrap (README)",
                        "SHESHI_OWNER_DB_PASSWORD": "the one-time role bootstrap (README)",
                        "SHESHI_JOBS_DB_PASSWORD": "the one-time role bootstrap (README)"}
# Cloud settings Terraform deliberately does not set.
NOT_SET_BY_TERRAFORM = {"SHESHI_S3_ENDPOINT_URL": "a local S3-compatible server (tests); AWS otherwise",
                        "DATABASE_REPLICA_URL": "optional: Terraform creates no replica (README)",
                        "SHESHI_AWS_SECRET_ID": "for hosts outside ECS: on ECS the secret's keys are injected per "
                                                "container, so the web task never holds DATABASE_JOBS_URL"}
CLOUD_PREFIXES = ("SHESHI_S3_", "SHESHI_SQS_", "SHESHI_AWS_", "SHESHI_AUDIT_ANCHOR_", "Q_TIMEOUT", "Q_RETRY")


def names_read_by_settings() -> set[str]:
    names = set()
    for path in SETTINGS_SOURCES:
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, str)):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in READERS and re.fullmatch(r"[A-Z][A-Z0-9_]+", node.args[0].value):
                names.add(node.args[0].value)
    return names


def terraform_environment() -> set[str]:
    block = (AWS / "ecs.tf").read_text().split("environment = [", 1)[1].split("\n  ]", 1)[0]
    return set(re.findall(r'\{ name = "([A-Z0-9_]+)", value', block))


def terraform_secret_keys() -> set[str]:
    text = (AWS / "main.tf").read_text()
    block = text.split("secret_string = jsonencode({", 1)[1].split("})", 1)[0]
    return set(re.findall(r"^\s+([A-Z][A-Z0-9_]+)\s+=", block, re.M))


def test_the_parsers_find_what_they_should():
    read = names_read_by_settings()
    assert {"SECRET_KEY", "DATABASE_URL", "SHESHI_S3_SOURCES_BUCKET", "SHESHI_SQS_QUEUE_URL", "Q_RETRY"} <= read
    assert {"SHESHI_S3_EVIDENCE_BUCKET", "DJANGO_SETTINGS_MODULE"} <= terraform_environment()
    assert {"DATABASE_URL", "SECRET_KEY"} <= terraform_secret_keys()


def test_every_variable_terraform_gives_the_tasks_is_read_by_the_settings():
    unread = terraform_environment() - names_read_by_settings() - set(READ_ELSEWHERE)
    assert unread == set()


def test_every_key_of_the_app_secret_is_a_setting_and_every_secret_setting_is_in_it():
    read = names_read_by_settings()
    assert terraform_secret_keys() - read - set(SECRET_NOT_A_SETTING) == set()
    secrets_read = {"SECRET_KEY", "SHESHI_FIELD_KEYS", "SHESHI_AUDIT_SIGNING_KEY", "SHESHI_METRICS_TOKEN",
                    "DATABASE_URL", "DATABASE_OWNER_URL"}
    assert secrets_read <= read
    assert secrets_read - terraform_secret_keys() == set()


def test_every_cloud_setting_the_settings_read_is_set_by_terraform():
    cloud = {n for n in names_read_by_settings() if n.startswith(CLOUD_PREFIXES)}
    assert cloud - terraform_environment() - terraform_secret_keys() - set(NOT_SET_BY_TERRAFORM) == set()
