"""The one permission check every service uses: deny unless granted."""
from __future__ import annotations

from sheshi.errors import PermissionDenied


def require_entity_perm(actor, perm: str, entity) -> None:
    """Raise unless ``actor`` holds ``perm`` on ``entity``. ``actor=None`` is the system
    (management commands and jobs running in system_context); superusers pass."""
    if actor is None or actor.is_superuser:
        return
    if not actor.has_perm(perm, entity):
        raise PermissionDenied(f"You need '{perm.split('.')[1]}' on entity {entity.code}.")
