"""django-q2 on Amazon SQS, selected by ``SHESHI_SQS_QUEUE_URL`` (the ORM broker otherwise).

django-q2's own SQS broker finds its queue by the cluster's name and creates it when missing; the
deployment's queue is made by Terraform (KMS-encrypted, deploy/aws) and the task role may not
create queues, so the broker (``sqs_broker.py``) uses the configured URL as it is and never creates one.

Delivery is at least once, as with the ORM broker: a message received is invisible for
``Q_RETRY`` seconds (django-q2 asks for that visibility timeout on every receive) and handed out
again if the worker has not deleted it by then — a killed worker's job comes back. Hence the
start-up check (``checks.py``): ``Q_RETRY`` above ``Q_TIMEOUT``, within SQS's 12-hour limit.
The settings import this module, so nothing of django-q2 is imported here.
"""
from __future__ import annotations

SQS_MAX_VISIBILITY_SECONDS = 12 * 3600


def q_cluster_sqs(q_cluster: dict, *, region: str | None) -> dict:
    """``Q_CLUSTER`` for the SQS broker: the same knobs, the broker class and its connection."""
    cluster = {k: v for k, v in q_cluster.items() if k != "orm"}
    cluster["broker_class"] = "sheshi.jobs.sqs_broker.QueueUrlSqs"
    # Long polling: fewer empty receives; below the 20 s maximum so a stopping cluster is not held long.
    cluster["sqs"] = {"aws_region": region, "receive_message_wait_time_seconds": 10} if region else \
        {"receive_message_wait_time_seconds": 10}
    cluster["bulk"] = min(int(cluster.get("bulk", 1)), 10)  # SQS hands out at most 10 per receive
    return cluster
