"""The SQS broker on the configured queue URL (sqs.py says why); never creates a queue."""
from __future__ import annotations

from django.conf import settings
from django_q.brokers.aws_sqs import Sqs


class QueueUrlSqs(Sqs):
    def get_queue(self):
        self.sqs = self.connection.resource("sqs")
        return self.sqs.Queue(settings.SHESHI_SQS_QUEUE_URL)

    # boto3 caches a queue's attributes at first read: counts must be read afresh each time.
    def queue_size(self) -> int:
        self.queue.reload()
        return super().queue_size()

    def lock_size(self) -> int:
        self.queue.reload()
        return super().lock_size()
