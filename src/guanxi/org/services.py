"""Writes to the organisation: departments and users. Administrators only."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from guanxi.audit import services as audit
from guanxi.core.errors import PermissionDenied, ValidationFailed
from guanxi.org.models import Department, Role, User


def _require(actor: Any, perm: str) -> None:
    if actor is not None and not actor.has_perm(perm):
        raise PermissionDenied()


def _roles_by_code(codes: list[str]) -> list[Role]:
    roles = list(Role.objects.filter(code__in=codes))
    unknown = sorted(set(codes) - {role.code for role in roles})
    if unknown:
        raise ValidationFailed(
            detail={"roles": [_("未知的角色：%(codes)s") % {"codes": ", ".join(unknown)}]}
        )
    return roles


@transaction.atomic
def department_create(
    *,
    actor: Any,
    name: str,
    parent: Department | None = None,
    kind: str = Department.Kind.DEPARTMENT,
    code: str = "",
) -> Department:
    _require(actor, "org.add_department")
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(detail={"name": [_("请填写部门名称。")]})
    if Department.objects.filter(parent=parent, name=name).exists():
        raise ValidationFailed(detail={"name": [_("同一上级下已有同名部门。")]})
    department = Department.objects.create(name=name, parent=parent, kind=kind, code=code)
    audit.record(actor=actor, action="department.created", obj=department)
    return department


@transaction.atomic
def department_update(*, actor: Any, department: Department, **fields: Any) -> Department:
    _require(actor, "org.change_department")
    parent = fields.get("parent", department.parent)
    if parent is not None:
        ancestor: Department | None = parent
        while ancestor is not None:
            if ancestor.pk == department.pk:
                raise ValidationFailed(detail={"parent": [_("上级部门不能是自己或自己的下级。")]})
            ancestor = ancestor.parent
    name = (fields.get("name", department.name) or "").strip()
    if "name" in fields:
        if not name:
            raise ValidationFailed(detail={"name": [_("请填写部门名称。")]})
        fields["name"] = name
    if Department.objects.filter(parent=parent, name=name).exclude(pk=department.pk).exists():
        raise ValidationFailed(detail={"name": [_("同一上级下已有同名部门。")]})
    before = {key: getattr(department, key) for key in fields}
    for key, value in fields.items():
        setattr(department, key, value)
    department.save(update_fields=list(fields))
    audit.record(
        actor=actor, action="department.updated", obj=department, changes=audit.diff(before, fields)
    )
    return department


@transaction.atomic
def user_create(
    *,
    actor: Any,
    username: str,
    password: str,
    name: str = "",
    department: Department | None = None,
    roles: list[str] | None = None,
    email: str = "",
    mobile: str = "",
    title: str = "",
    check_password: bool = True,
) -> User:
    """Create a user with roles (codes). `actor=None` only for set-up commands."""
    _require(actor, "org.add_user")
    username = (username or "").strip()
    errors: dict[str, list[str]] = {}
    if not username:
        errors["username"] = [_("请填写用户名。")]
    elif User.objects.filter(username=username).exists():
        errors["username"] = [_("用户名已存在。")]
    user = User(
        username=username, name=name, department=department, email=email, mobile=mobile, title=title
    )
    if check_password:
        try:
            validate_password(password, user)
        except ValidationError as exc:
            errors["password"] = list(exc.messages)
    role_objs: list[Role] = []
    try:
        role_objs = _roles_by_code(roles or [])
    except ValidationFailed as exc:
        errors.update(exc.detail)
    if errors:
        raise ValidationFailed(detail=errors)
    user.set_password(password)
    user.save()
    user.groups.set(role_objs)
    audit.record(
        actor=actor, action="user.created", obj=user, changes={"roles": [None, roles or []]}
    )
    return user


@transaction.atomic
def user_update(
    *,
    actor: Any,
    user: User,
    roles: list[str] | None = None,
    password: str | None = None,
    **fields: Any,
) -> User:
    _require(actor, "org.change_user")
    changes: dict[str, list[Any]] = audit.diff({k: getattr(user, k) for k in fields}, fields)
    for key, value in fields.items():
        setattr(user, key, value)
    if password:
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise ValidationFailed(detail={"password": list(exc.messages)}) from None
        user.set_password(password)
        changes["password"] = ["***", "***"]
    user.save()
    if roles is not None:
        old = sorted(user.role_codes())
        user.groups.set(_roles_by_code(roles))
        user.__dict__.pop("_roles_cache", None)
        user.__dict__.pop("_scope_cache", None)
        if old != sorted(roles):
            changes["roles"] = [old, sorted(roles)]
    audit.record(actor=actor, action="user.updated", obj=user, changes=changes)
    return user


def auth_token_issue(*, user: User) -> str:
    """The user's API token (created on first use). Called after a successful login."""
    from rest_framework.authtoken.models import Token

    token, created = Token.objects.get_or_create(user=user)
    if created:
        audit.record(actor=user, action="user.token_issued", obj=user)
    return token.key


def user_password_changed_record(*, actor: User) -> None:
    """A user changed their own password (Django's form validated and saved it)."""
    audit.record(actor=actor, action="user.password_changed", obj=actor)
