"""Factories with fixed, readable values. Sequences keep codes unique across tests."""
from __future__ import annotations

import factory
from django.contrib.auth import get_user_model

from sheshi.access.roles import Role
from sheshi.tenancy.models import Entity, Membership, Organisation

PASSWORD = "correct-horse-battery-staple"


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    code = factory.Sequence(lambda n: f"ORG{n:03d}")
    name = factory.Sequence(lambda n: f"Organisation {n}")
    group_currency = "EUR"


class EntityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Entity

    organisation = factory.SubFactory(OrganisationFactory)
    code = factory.Sequence(lambda n: f"E{n:03d}")
    name = factory.Sequence(lambda n: f"Entity {n}")
    functional_currency = "EUR"
    country = "DE"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n:03d}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.test")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


def member(user, organisation, *, org_admin: bool = False) -> Membership:
    """A membership, through the service (the app role may not write memberships directly)."""
    from sheshi.access.services.memberships import membership_set

    return membership_set(actor=None, user=user, organisation=organisation, is_org_admin=org_admin)


def user_with_role(entity: Entity, role: Role | str, **user_kw):
    """A member of the entity's organisation holding ``role`` on ``entity`` only."""
    from sheshi.access.services.grants import role_grant

    user = UserFactory(**user_kw)
    member(user, entity.organisation)
    role_grant(actor=None, user=user, entity=entity, role=role)
    return user
