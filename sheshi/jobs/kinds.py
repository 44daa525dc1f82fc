"""The kinds of background job whose loss sheshi.jobs.recovery looks for.

Each app that owns a job kind (ledger imports, consolidation runs) registers it at start-up
(its apps.py): how to find its lost jobs by their own rows, and how to hand one to its task
again. The kernel knows no app's models or tasks, only this list.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class RecoveredJob:
    kind: str  # a registered JobKind.name
    id: int
    organisation_id: int
    status: str  # as found: pending/running, queued/running
    since: datetime  # started_at for a running job, created/requested_at for a waiting one


@dataclass(frozen=True)
class JobKind:
    name: str  # "import_batch", "consolidation_run": the audit action is "<name>.recovered"
    object_type: str  # the audit event's object type, "<app_label>.<model>"
    lost: Callable[[datetime], list[RecoveredJob]]  # jobs lost as of ``now``
    enqueue: Callable[[int], None]  # hand the job with this id to its task again


_kinds: dict[str, JobKind] = {}


def job_kind_register(kind: JobKind) -> None:
    _kinds[kind.name] = kind


def job_kinds() -> list[JobKind]:
    return [_kinds[name] for name in sorted(_kinds)]
