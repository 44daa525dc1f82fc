"""The audit trail as the shared kernel writes to it.

The kernel's own writes (role grants, lost-job recovery) are audited like every other change, in
the same transaction, but the audit app sits above the kernel and the kernel never imports it:
audit/apps.py registers its recorder here at start-up. Recording before it is registered raises
rather than drop the event, because an unaudited change is the defect this module exists to
prevent.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

_recorders: list[Callable[..., int]] = []


def audit_recorder_register(record: Callable[..., int]) -> None:
    _recorders[:] = [record]


def audit_event_record(*, organisation_id: int, action: str, object_type: str, object_id: Any = None,
                       changes: dict[str, Any] | None = None) -> int:
    """Record an event through the audit app's recorder (audit.services.events.audit_event_record)."""
    if not _recorders:
        raise RuntimeError("No audit recorder registered: the audit app is not installed (audit/apps.py).")
    return _recorders[0](organisation_id=organisation_id, action=action, object_type=object_type,
                         object_id=object_id, changes=changes)
