"""Test helpers shared by every app: factories for the organisation and the archive.

make_user("salesperson", department=dept)  -> a user with that role
"""

from __future__ import annotations

import itertools
import random
from typing import Any

import factory

from guanxi.core.china import credit_code_with_check
from guanxi.org.models import Department, Role, User

# Real, published unified social credit codes (check characters valid).
REAL_CREDIT_CODES = {
    "华为技术有限公司": "914403001922038216",
    "腾讯科技（深圳）有限公司": "9144030071526726XG",
    "阿里巴巴（中国）有限公司": "91330100716105852F",
    "小米科技有限责任公司": "91110108551385082Q",
    "中国石油化工股份有限公司": "91110000710926094P",
}
PASSWORD = "Guanxi-Test-2026"

_codes = itertools.count(1)
_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def valid_credit_code(seed: int | None = None) -> str:
    """A syntactically valid code with a correct GB 32100-2015 check character."""
    rnd = random.Random(seed if seed is not None else next(_codes) + 7919)
    body = "".join(rnd.choice(_USCC_CHARS) for _ in range(9))
    return credit_code_with_check(f"91{rnd.choice(['110000', '310000', '440300', '330100'])}{body}")


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department

    name = factory.Sequence(lambda n: f"部门{n}")
    kind = Department.Kind.BRANCH


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    name = factory.Sequence(lambda n: f"员工{n}")
    department = factory.SubFactory(DepartmentFactory)
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def roles(user: User, create: bool, extracted: Any, **kwargs: Any) -> None:  # noqa: N805
        # factory_boy passes the built object first (it is not the factory).
        if create and extracted:
            user.groups.set(Role.objects.filter(code__in=extracted))
        if create:
            user.save()


def make_user(*roles: str, department: Department | None = None, **kwargs: Any) -> User:
    if department is not None:
        kwargs["department"] = department
    user: User = UserFactory(roles=list(roles), **kwargs)
    return user


def make_customer(actor: User, /, **data: Any) -> Any:
    """A customer filed through the real service by `actor` (the owner unless data says)."""
    from guanxi.customers.services import customer_create

    contacts = data.pop("contacts", None)
    tags = data.pop("tags", None)
    co_owners = data.pop("co_owners", None)
    data.setdefault("name", f"测试客户{next(_codes)}有限公司")
    return customer_create(
        actor=actor, data=data, contacts=contacts, tags=tags, co_owners=co_owners
    )


def api_client(user: User | None = None) -> Any:
    """A DRF test client, authenticated with the user's API token when a user is given."""
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    client = APIClient()
    if user is not None:
        token, _created = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client
