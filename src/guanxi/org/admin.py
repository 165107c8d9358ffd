"""Admin for the organisation: the department tree, roles (data scope + permissions) and
users. Departments and users are written through org.services, so the admin enforces and
audits the same rules as every other entry point; roles have no service and are audited
by AuditedAdminMixin.
"""

from __future__ import annotations

import contextlib
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.admin import sensitive_post_parameters_m
from django.contrib.auth.forms import UserChangeForm as DjangoUserChangeForm
from django.contrib.auth.forms import UserCreationForm as DjangoUserCreationForm
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from guanxi.audit import services as audit
from guanxi.core.admin import AuditedAdminMixin, AuditedModelAdmin, admin_source, adopt_saved
from guanxi.core.china import normalise_mobile, validate_mobile
from guanxi.org import services as org_services
from guanxi.org.models import Department, Role, User

# Roles are groups with a code and a data scope: edit them as roles, never as bare groups.
with contextlib.suppress(admin.sites.NotRegistered):
    admin.site.unregister(Group)


# --- departments ------------------------------------------------------------------------------
DEPARTMENT_FIELDS = ("name", "code", "kind", "parent", "sort_order", "is_active")


class DepartmentForm(forms.ModelForm):
    class Meta:
        model = Department
        fields = DEPARTMENT_FIELDS

    def clean(self) -> dict[str, Any]:
        # The same rules as org.services.department_create/update, checked here so that a
        # violation is shown next to the field instead of failing the save.
        data = super().clean()
        name = (data.get("name") or "").strip()
        parent = data.get("parent")
        if name and parent is None:
            # The database constraint cannot see duplicates among top-level departments.
            clash = Department.objects.filter(parent=None, name=name).exclude(pk=self.instance.pk)
            if clash.exists():
                self.add_error("name", _("同一上级下已有同名部门。"))
        if parent is not None and self.instance.pk is not None:
            seen: set[int] = set()
            ancestor: Department | None = parent
            while ancestor is not None and ancestor.pk not in seen:
                if ancestor.pk == self.instance.pk:
                    self.add_error("parent", _("上级部门不能是自己或自己的下级。"))
                    break
                seen.add(ancestor.pk)
                ancestor = ancestor.parent
        return data


@admin.register(Department)
class DepartmentAdmin(AuditedModelAdmin):
    audit_saves = False  # org.services audit department writes
    form = DepartmentForm
    list_display = ("name", "kind", "parent", "code", "member_count", "sort_order", "is_active")
    list_filter = ("kind", "is_active")
    search_fields = ("name", "code")
    list_select_related = ("parent",)
    fields = DEPARTMENT_FIELDS
    ordering = ("sort_order", "id")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Department]:
        return super().get_queryset(request).annotate(member_count=Count("members", distinct=True))

    @admin.display(description=_("人数"), ordering="member_count")
    def member_count(self, obj: Department) -> int:
        return obj.member_count

    def save_model(self, request: HttpRequest, obj: Department, form: Any, change: bool) -> None:
        if not change:
            department = org_services.department_create(
                actor=request.user, name=obj.name, parent=obj.parent, kind=obj.kind, code=obj.code
            )
            extra = {
                name: getattr(obj, name)
                for name in ("sort_order", "is_active")
                if getattr(obj, name) != getattr(department, name)
            }
            if extra:
                org_services.department_update(actor=request.user, department=department, **extra)
            adopt_saved(obj, department)
            return
        original = Department.objects.filter(pk=obj.pk).first()
        changed = {
            name: getattr(obj, name) for name in form.changed_data if name in DEPARTMENT_FIELDS
        }
        if original is not None and changed:
            org_services.department_update(actor=request.user, department=original, **changed)


# --- roles ------------------------------------------------------------------------------------
class RoleForm(forms.ModelForm):
    class Meta:
        model = Role
        fields = (
            "name",
            "code",
            "description",
            "sort_order",
            "data_scope",
            "custom_departments",
            "read_only",
            "permissions",
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("data_scope") == Role.DataScope.CUSTOM and not data.get("custom_departments"):
            self.add_error(
                "custom_departments", _("数据范围为“自定义部门”时，请至少选择一个部门。")
            )
        return data


@admin.register(Role)
class RoleAdmin(AuditedModelAdmin):
    form = RoleForm
    list_display = ("name", "code", "data_scope", "read_only", "member_count", "sort_order")
    list_filter = ("data_scope", "read_only")
    search_fields = ("name", "code", "description")
    filter_horizontal = ("custom_departments", "permissions")
    ordering = ("sort_order", "id")
    fieldsets = (
        (None, {"fields": ("name", "code", "description", "sort_order")}),
        (
            _("数据范围"),
            {
                "fields": ("data_scope", "custom_departments", "read_only"),
                "description": _(
                    "数据范围决定该角色能看到哪些客户：全部、自定义部门、本部门、本部门及以下、"
                    "仅本人。用户有多个角色时取并集。"
                ),
            },
        ),
        (_("功能权限"), {"fields": ("permissions",)}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Role]:
        return super().get_queryset(request).annotate(member_count=Count("user", distinct=True))

    def get_readonly_fields(self, request: HttpRequest, obj: Role | None = None) -> tuple[str, ...]:
        # Codes are referenced by the policy pack (e.g. customers.export_max_rows): stable.
        return ("code",) if obj is not None else ()

    @admin.display(description=_("人数"), ordering="member_count")
    def member_count(self, obj: Role) -> int:
        return obj.member_count

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "permissions":
            # Permission names need their content type: load them in the same query.
            kwargs["queryset"] = db_field.remote_field.model.objects.select_related("content_type")
            kwargs["label"] = _("功能权限")
            kwargs["widget"] = FilteredSelectMultiple(_("功能权限"), False)
        return super().formfield_for_manytomany(db_field, request, **kwargs)


# --- users ------------------------------------------------------------------------------------
USER_FIELDS = (
    "username",
    "name",
    "department",
    "title",
    "mobile",
    "email",
    "is_active",
    "is_staff",
    "is_superuser",
)


class _MobileMixin:
    def clean_mobile(self) -> str:
        mobile = normalise_mobile(self.cleaned_data.get("mobile", ""))
        validate_mobile(mobile)
        return mobile


class UserCreateForm(_MobileMixin, DjangoUserCreationForm):
    """Django's creation form (password twice, validated) plus the archive fields."""

    class Meta(DjangoUserCreationForm.Meta):
        model = User
        fields = ("username",)


class UserChangeForm(_MobileMixin, DjangoUserChangeForm):
    class Meta(DjangoUserChangeForm.Meta):
        model = User
        fields = "__all__"


class RoleListFilter(admin.SimpleListFilter):
    title = _("角色")
    parameter_name = "role"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(role.code, role.name) for role in Role.objects.order_by("sort_order", "id")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[User]) -> QuerySet[User]:
        if self.value():
            return queryset.filter(groups__role__code=self.value()).distinct()
        return queryset


@admin.register(User)
class UserAdmin(AuditedAdminMixin, DjangoUserAdmin):
    """Users are created and changed through org.services (user_create / user_update)."""

    audit_saves = False
    form = UserChangeForm
    add_form = UserCreateForm
    list_display = (
        "username",
        "name",
        "department",
        "roles",
        "is_active",
        "is_staff",
        "last_login",
    )
    list_filter = ("is_active", "is_staff", RoleListFilter, "department")
    search_fields = ("username", "name", "mobile", "email")
    list_select_related = ("department",)
    ordering = ("username",)
    filter_horizontal = ("groups",)
    readonly_fields = ("last_login", "date_joined")
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("个人信息"), {"fields": ("name", "department", "title", "mobile", "email")}),
        (
            _("角色与状态"),
            {
                "fields": ("is_active", "is_staff", "is_superuser", "groups"),
                "description": _(
                    "权限和数据范围来自角色。离职人员请取消“有效”，不要删除账号（历史记录仍引用该用户）。"
                ),
            },
        ),
        (_("重要日期"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "password1", "password2")}),
        (_("个人信息"), {"fields": ("name", "department", "title", "mobile", "email")}),
        (_("角色"), {"fields": ("groups",)}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        return super().get_queryset(request).prefetch_related("groups")

    def get_readonly_fields(self, request: HttpRequest, obj: User | None = None) -> tuple[str, ...]:
        fields = tuple(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            # Only a superuser may make or unmake another superuser.
            fields += ("is_superuser",)
        return fields

    @admin.display(description=_("角色"))
    def roles(self, obj: User) -> str:
        return "、".join(group.name for group in obj.groups.all())

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "groups":
            kwargs["queryset"] = Role.objects.order_by("sort_order", "id")
            kwargs["label"] = _("角色")
            kwargs["help_text"] = _("用户的权限和数据范围为其各角色之和。")
            kwargs["widget"] = FilteredSelectMultiple(_("角色"), False)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        data = form.cleaned_data
        if not change:
            user = org_services.user_create(
                actor=request.user,
                username=obj.username,
                password=data["password1"],
                name=obj.name,
                department=obj.department,
                roles=[role.code for role in data.get("groups", [])],
                email=obj.email,
                mobile=obj.mobile,
                title=obj.title,
                check_password=False,  # the form has validated it against the same validators
            )
            adopt_saved(obj, user)
            return
        original = User.objects.filter(pk=obj.pk).first()
        fields = {name: getattr(obj, name) for name in form.changed_data if name in USER_FIELDS}
        roles_changed = "groups" in form.changed_data
        if original is None or not (fields or roles_changed):
            return
        org_services.user_update(
            actor=request.user,
            user=original,
            roles=[role.code for role in data["groups"]] if roles_changed else None,
            **fields,
        )

    @sensitive_post_parameters_m
    def user_change_password(
        self, request: HttpRequest, id: str, form_url: str = ""
    ) -> HttpResponse:
        with transaction.atomic(), admin_source():
            response = super().user_change_password(request, id, form_url)
            succeeded = (
                request.method == "POST"
                and response.status_code == 302
                and response.url != request.get_full_path()
            )
            if succeeded:
                user = self.get_object(request, unquote(id))
                audit.record(
                    actor=request.user,
                    action="user.password_changed",
                    obj=user,
                    changes={"password": ["***", "***"]},
                )
        return response

    def has_delete_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        if obj is not None and obj.pk == request.user.pk:
            return False
        return super().has_delete_permission(request, obj)
