import itertools

from tessera.accounts.models import Organization, OrganizationKind, Role, User
from tessera.accounts.services import add_member

_seq = itertools.count(1)


def make_user(*, username: str | None = None, password: str = "pass-word-42", **fields) -> User:
    username = username or f"user{next(_seq)}"
    return User.objects.create_user(username=username, password=password, **fields)


def make_organization(
    *, kind: str = OrganizationKind.ORGANIZER, name: str | None = None, **fields
) -> Organization:
    n = next(_seq)
    return Organization.objects.create(
        kind=kind,
        name=name or f"主办方{n}",
        name_en=fields.pop("name_en", f"Organizer {n}"),
        slug=fields.pop("slug", f"org-{n}"),
        **fields,
    )


def make_member(*, organization: Organization, role: str = Role.MANAGER, **user_fields) -> User:
    user = make_user(**user_fields)
    add_member(organization=organization, user=user, role=role)
    user.refresh_from_db()
    return user
