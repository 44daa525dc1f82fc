"""Who belongs to an organisation (Membership) and which groups a user is in.

The rows are written by the owner's entry points ``tenancy_membership_set`` /
``tenancy_membership_remove`` / ``sheshi_user_groups_set`` (sheshi/tenancy/sql/0007_entry_points.sql):
the application's roles may read these tables, not write them, and PostgreSQL checks that the acting
user administers the organisation (groups: the system or a superuser). The history row of a
membership change goes through the history entry point (sheshi/history.py)."""
from __future__ import annotations

from django.db import connection, transaction
from django.utils import timezone
from simple_history.utils import get_history_model_for_model

from sheshi.access.memo import forget
from sheshi.errors import PermissionDenied
from sheshi.tenancy.models import Membership, Organisation
from sheshi.tenancy.scoping import is_org_admin as administers


def _check_can_administer(actor, organisation_id: int) -> None:
    if actor is None or actor.is_superuser:
        return
    if not administers(actor, organisation_id):
        raise PermissionDenied("Only an organisation admin can change its members.")


def _history(membership: Membership, history_type: str, actor) -> None:
    model = get_history_model_for_model(Membership)
    model(history_date=timezone.now(), history_type=history_type, history_user_id=getattr(actor, "pk", None),
          **{f.attname: getattr(membership, f.attname) for f in model.tracked_fields}).save()


@transaction.atomic
def membership_set(*, actor, user, organisation: Organisation, is_org_admin: bool = False,
                   is_active: bool = True) -> Membership:
    """Make ``user`` a member of ``organisation`` (or change the membership's flags)."""
    _check_can_administer(actor, organisation.pk)
    existed = Membership.objects.filter(organisation=organisation, user=user).exists()
    with connection.cursor() as cur:
        cur.execute("SELECT tenancy_membership_set(%s, %s, %s, %s)",
                    [organisation.pk, user.pk, is_org_admin, is_active])
        membership_id = cur.fetchone()[0]
    membership = Membership.objects.get(pk=membership_id)
    _history(membership, "~" if existed else "+", actor)
    forget()
    return membership


@transaction.atomic
def membership_remove(*, actor, user, organisation: Organisation) -> None:
    """Remove ``user`` from ``organisation``, with the user's roles on its entities."""
    _check_can_administer(actor, organisation.pk)
    membership = Membership.objects.filter(organisation=organisation, user=user).first()
    if membership is None:
        return
    with connection.cursor() as cur:
        cur.execute("SELECT tenancy_membership_remove(%s, %s)", [organisation.pk, user.pk])
    _history(membership, "-", actor)
    forget()


@transaction.atomic
def user_groups_set(*, actor, user, groups) -> None:
    """Put ``user`` in exactly ``groups`` (Django groups: which admin pages a staff user sees; a
    group's entity grants reach its members, so only the system or a superuser may)."""
    if actor is not None and not actor.is_superuser:
        raise PermissionDenied("Only a superuser can change a user's groups.")
    with connection.cursor() as cur:
        cur.execute("SELECT sheshi_user_groups_set(%s, %s)", [user.pk, sorted({g.pk for g in groups})])
    forget()
