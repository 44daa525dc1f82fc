"""Start-up checks of the job queue (run by ``manage.py qcluster``, ``migrate`` and ``check``).

A job that runs longer than the visibility timeout is handed to a second worker while the first
still runs it; so ``Q_RETRY`` (the visibility timeout django-q2 asks the broker for) must exceed
``Q_TIMEOUT``. On SQS the queue itself is read once: it must exist and be reachable, and its own
default visibility timeout (what any other consumer of the queue gets) should not be shorter than
a job either."""
from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Warning, register

from sheshi.jobs.sqs import SQS_MAX_VISIBILITY_SECONDS


@register("sheshi_jobs")
def job_queue_checks(app_configs, **kwargs):
    cluster = getattr(settings, "Q_CLUSTER", {})
    timeout, retry = int(cluster.get("timeout") or 0), int(cluster.get("retry") or 0)
    problems = []
    if cluster.get("sync"):
        return problems
    if timeout and retry <= timeout:
        problems.append(Error(
            f"Q_RETRY ({retry} s) must exceed Q_TIMEOUT ({timeout} s): a job still running when its visibility "
            "timeout ends is handed to a second worker.", hint="Set Q_RETRY to Q_TIMEOUT plus the longest queue wait.",
            id="sheshi_jobs.E001"))
    queue_url = getattr(settings, "SHESHI_SQS_QUEUE_URL", "")
    if not queue_url:
        return problems

    if retry > SQS_MAX_VISIBILITY_SECONDS:
        problems.append(Error(f"Q_RETRY ({retry} s) is above SQS's maximum visibility timeout "
                              f"({SQS_MAX_VISIBILITY_SECONDS} s).", id="sheshi_jobs.E002"))
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        region = (cluster.get("sqs") or {}).get("aws_region")
        attributes = boto3.client("sqs", region_name=region).get_queue_attributes(
            QueueUrl=queue_url, AttributeNames=["VisibilityTimeout"])["Attributes"]
    except (BotoCoreError, ClientError) as exc:  # the queue is unusable: say which and why
        code = getattr(exc, "response", {}).get("Error", {}).get("Code") or type(exc).__name__
        problems.append(Error(f"SHESHI_SQS_QUEUE_URL {queue_url} cannot be read: {code}.", id="sheshi_jobs.E003"))
        return problems
    visibility = int(attributes["VisibilityTimeout"])
    if timeout and visibility <= timeout:
        problems.append(Warning(
            f"The queue's own visibility timeout ({visibility} s) is not above Q_TIMEOUT ({timeout} s). Sheshi's "
            f"workers ask for Q_RETRY ({retry} s) on every receive, but any other consumer would get {visibility} s.",
            hint="Set visibility_timeout_seconds in deploy/aws to Q_RETRY.", id="sheshi_jobs.W001"))
    return problems
