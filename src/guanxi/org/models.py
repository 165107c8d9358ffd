"""Organisation: a department/region tree, roles with a data scope, and users.

A Role *is* a Django Group (multi-table inheritance), so Django's permission machinery
works unchanged; the role adds a stable code, a data scope and a read-only flag.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser, Group, UserManager
from django.db import models
from django.utils.translation import gettext_lazy as _


class Department(models.Model):
    """A node of the company tree (company → region → branch/department)."""

    class Kind(models.TextChoices):
        COMPANY = "company", _("公司")
        REGION = "region", _("大区")
        BRANCH = "branch", _("分支机构")
        DEPARTMENT = "department", _("部门")

    name = models.CharField(_("名称"), max_length=100)
    code = models.CharField(_("编码"), max_length=30, blank=True)
    kind = models.CharField(_("类型"), max_length=12, choices=Kind.choices, default=Kind.DEPARTMENT)
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("上级"),
    )
    sort_order = models.PositiveIntegerField(_("排序"), default=0)
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("部门/区域")
        verbose_name_plural = _("部门/区域")
        ordering = ["sort_order", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["parent", "name"], name="department_unique_name_in_parent"
            )
        ]

    def __str__(self) -> str:
        return self.name


class Role(Group):
    class DataScope(models.TextChoices):
        ALL = "all", _("全部数据")
        CUSTOM = "custom", _("自定义部门")
        DEPARTMENT = "department", _("本部门")
        DEPARTMENT_AND_BELOW = "department_and_below", _("本部门及以下")
        SELF = "self", _("仅本人")

    code = models.SlugField(_("角色代码"), max_length=40, unique=True)
    description = models.CharField(_("职责"), max_length=200, blank=True)
    data_scope = models.CharField(
        _("数据范围"), max_length=24, choices=DataScope.choices, default=DataScope.SELF
    )
    custom_departments = models.ManyToManyField(
        Department, blank=True, related_name="+", verbose_name=_("自定义部门")
    )
    read_only = models.BooleanField(
        _("只读"), default=False, help_text=_("只读角色可以查看数据范围内的记录，但不能修改。")
    )
    sort_order = models.PositiveIntegerField(_("排序"), default=0)

    class Meta:
        verbose_name = _("角色")
        verbose_name_plural = _("角色")
        ordering = ["sort_order", "id"]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    name = models.CharField(_("姓名"), max_length=50, blank=True)
    department = models.ForeignKey(
        Department,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="members",
        verbose_name=_("部门"),
    )
    mobile = models.CharField(_("手机"), max_length=20, blank=True)
    title = models.CharField(_("职务"), max_length=50, blank=True)

    objects = UserManager()

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.name or self.get_full_name() or self.username

    def roles(self) -> list[Role]:
        cached = getattr(self, "_roles_cache", None)
        if cached is None:
            cached = list(
                Role.objects.filter(group_ptr__in=self.groups.all()).prefetch_related(
                    "custom_departments"
                )
            )
            self._roles_cache = cached
        return cached

    def role_codes(self) -> list[str]:
        return [role.code for role in self.roles()]

    def has_role(self, *codes: str) -> bool:
        return any(code in codes for code in self.role_codes())
