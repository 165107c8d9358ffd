"""The customer archive (客户档案): one record per customer, its contacts and their
relationship circle, special dates, attachments and tags. Policy: customers.*.

Deletes are soft (deleted_at); the recycle bin keeps them for customers.recycle_bin_days.
History lives in the audit log (audit.AuditEvent.customer_id).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.db.models.lookups import IsNull
from django.utils.translation import gettext_lazy as _

from guanxi.core.china import validate_mobile, validate_postcode
from guanxi.core.models import ScopedModel, ScopedQuerySet, TimeStampedModel
from guanxi.org.scopes import Scope


class SecrecyLevel(models.TextChoices):
    NORMAL = "normal", _("普通")
    CONFIDENTIAL = "confidential", _("机密")
    TOP_SECRET = "top_secret", _("绝密")


class Region(models.Model):
    """Sales region a customer belongs to (华北、华东…); drives cross-region rules."""

    name = models.CharField(_("名称"), max_length=50, unique=True)
    code = models.SlugField(_("代码"), max_length=30, unique=True)
    sort_order = models.PositiveIntegerField(_("排序"), default=0)

    class Meta:
        verbose_name = _("区域")
        verbose_name_plural = _("区域")
        ordering = ["sort_order", "id"]

    def __str__(self) -> str:
        return self.name


class Industry(models.Model):
    name = models.CharField(_("名称"), max_length=50, unique=True)
    sort_order = models.PositiveIntegerField(_("排序"), default=0)

    class Meta:
        verbose_name = _("行业")
        verbose_name_plural = _("行业")
        ordering = ["sort_order", "id"]

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    name = models.CharField(_("名称"), max_length=30, unique=True)
    colour = models.CharField(_("颜色"), max_length=7, default="#6c757d")

    class Meta:
        verbose_name = _("标签")
        verbose_name_plural = _("标签")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class _Likely(models.Func):
    """SQLite's likely(condition): the planner takes the condition to hold for most rows.
    Other databases: the condition itself."""

    function = "likely"
    output_field = models.BooleanField()

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        if connection.vendor != "sqlite":
            return compiler.compile(self.get_source_expressions()[0])
        return super().as_sql(compiler, connection, **extra)


class CustomerQuerySet(ScopedQuerySet):
    def alive(self) -> CustomerQuerySet:
        return self.filter(deleted_at__isnull=True)

    def holding_codes(self, codes: Iterable[str]) -> CustomerQuerySet:
        """Live customers whose credit code is one of `codes`, read through the live-code
        unique index: the query states the index's own condition. On SQLite the live
        test is marked likely(): without planner statistics (a new archive, before its
        first ANALYZE) SQLite took `deleted_at IS NULL` for selective and read every live
        customer through the deleted_at index for an IN list of 2,000 codes (65 ms at
        100,000 customers instead of 5.5 ms). That index holds deleted customers only
        since migration 0018; the mark stays, so the plan does not hang on it."""
        return (
            self.filter(_Likely(IsNull(models.F("deleted_at"), True)))
            .exclude(credit_code="")
            .filter(credit_code__in=codes)
        )

    def deleted(self) -> CustomerQuerySet:
        return self.filter(deleted_at__isnull=False)


class Customer(ScopedModel, TimeStampedModel):
    class SourceChannel(models.TextChoices):
        REFERRAL = "referral", _("客户介绍")
        EXHIBITION = "exhibition", _("展会")
        WEBSITE = "website", _("网站/线上")
        COLD_CALL = "cold_call", _("电话开发")
        BIDDING = "bidding", _("招投标")
        PARTNER = "partner", _("合作伙伴")
        VISIT = "visit", _("上门拜访")
        OTHER = "other", _("其他")

    class ValueTier(models.TextChoices):
        HIGH = "high", _("高价值")
        MEDIUM = "medium", _("中价值")
        LOW = "low", _("低价值")

    name = models.CharField(_("客户名称"), max_length=200, db_index=True)
    # Comparison key for duplicate detection (customers.dedup.normalise), kept by services.
    name_normalised = models.CharField(
        _("名称比对键"), max_length=200, blank=True, db_index=True, editable=False
    )
    credit_code = models.CharField(_("统一社会信用代码"), max_length=18, blank=True)
    credit_code_override_reason = models.CharField(
        _("信用代码校验豁免原因"),
        max_length=200,
        blank=True,
        help_text=_("仅档案管理员可保留校验未通过的信用代码，并须说明原因。"),
    )
    legal_representative = models.CharField(_("法定代表人"), max_length=50, blank=True)
    registered_capital = models.DecimalField(
        _("注册资本（万元）"), max_digits=16, decimal_places=2, null=True, blank=True
    )
    business_scope = models.TextField(_("经营范围"), blank=True)
    address = models.CharField(_("地址"), max_length=200, blank=True)
    postcode = models.CharField(_("邮编"), max_length=6, blank=True, validators=[validate_postcode])
    phone = models.CharField(_("电话"), max_length=30, blank=True)
    fax = models.CharField(_("传真"), max_length=30, blank=True)
    email = models.EmailField(_("电子邮箱"), blank=True)
    website = models.URLField(_("网址"), blank=True)
    industry = models.ForeignKey(
        Industry,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("行业"),
    )
    customer_type = models.CharField(_("客户类型"), max_length=30, blank=True, db_index=True)
    region = models.ForeignKey(
        Region,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("区域"),
    )
    department = models.ForeignKey(
        "org.Department",
        on_delete=models.PROTECT,
        related_name="customers",
        verbose_name=_("分支机构"),
        db_index=False,  # customer_dept_updated_idx leads with it
    )
    source_channel = models.CharField(
        _("来源渠道"), max_length=20, choices=SourceChannel.choices, blank=True
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="owned_customers",
        verbose_name=_("负责人"),
        db_index=False,  # customer_owner_updated_idx leads with it
    )
    co_owners = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="co_owned_customers",
        verbose_name=_("协作负责人"),
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="customers", verbose_name=_("标签"))
    value_tier = models.CharField(
        _("价值分类"), max_length=10, choices=ValueTier.choices, blank=True
    )
    cooperation_status = models.CharField(_("合作状态"), max_length=20, blank=True, db_index=True)
    grade = models.CharField(_("客户等级"), max_length=20, blank=True, db_index=True)
    credit_level = models.CharField(_("资信等级"), max_length=20, blank=True)
    secrecy_level = models.CharField(
        _("密级"), max_length=12, choices=SecrecyLevel.choices, default=SecrecyLevel.NORMAL
    )
    first_contact_on = models.DateField(
        _("首次接触日期"), null=True, blank=True, help_text=_("用于计算建档期限。")
    )
    notes = models.TextField(_("备注"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("建档人"),
    )
    # These three are empty on nearly every customer: their indexes (in Meta) hold only
    # the rows where they are set, so that filing a customer writes no entry to them.
    deleted_at = models.DateTimeField(_("删除时间"), null=True, blank=True)
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("删除人"),
        db_index=False,
    )
    merged_into = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("合并至"),
        db_index=False,
    )

    objects = CustomerQuerySet.as_manager()

    class Meta:
        verbose_name = _("客户")
        verbose_name_plural = _("客户")
        ordering = ["-updated_at", "-id"]
        permissions = [
            ("export_customer", _("导出客户数据")),
            ("restore_customer", _("从回收站恢复客户")),
            ("override_credit_code", _("保留校验未通过的统一社会信用代码")),
            ("view_top_secret", _("查阅绝密附件")),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["credit_code"],
                condition=Q(deleted_at__isnull=True) & ~Q(credit_code=""),
                name="customer_unique_live_credit_code",
            )
        ]
        indexes = [
            models.Index(fields=["owner", "-updated_at"], name="customer_owner_updated_idx"),
            models.Index(fields=["department", "-updated_at"], name="customer_dept_updated_idx"),
            models.Index(
                fields=["-deleted_at"],
                condition=Q(deleted_at__isnull=False),
                name="customer_deleted_idx",
            ),
            models.Index(
                fields=["deleted_by"],
                condition=Q(deleted_by__isnull=False),
                name="customer_deleted_by_idx",
            ),
            models.Index(
                fields=["merged_into"],
                condition=Q(merged_into__isnull=False),
                name="customer_merged_into_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def scope_filter(cls, scope: Scope, prefix: str = "") -> Q:
        """Department scope, plus the records the user owns or co-owns."""
        co_owned = Exists(
            Customer.co_owners.through.objects.filter(
                customer_id=OuterRef(f"{prefix}pk" if prefix else "pk"), user_id=scope.user_id
            )
        )
        q = Q(**{f"{prefix}owner_id": scope.user_id}) | Q(co_owned)
        if scope.department_ids:
            q |= Q(**{f"{prefix}department_id__in": scope.department_ids})
        return q

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class CustomerScopedQuerySet(ScopedQuerySet):
    """For records that hang on a customer: visible when their customer is."""

    def alive(self) -> CustomerScopedQuerySet:
        rows = self.filter(customer__deleted_at__isnull=True)
        if any(f.name == "deleted_at" for f in self.model._meta.concrete_fields):
            rows = rows.filter(deleted_at__isnull=True)
        return rows


class CustomerChild(ScopedModel):
    @classmethod
    def scope_filter(cls, scope: Scope) -> Q:
        return Customer.scope_filter(scope, prefix="customer__")

    class Meta:
        abstract = True


class Contact(CustomerChild, TimeStampedModel):
    class DealRole(models.TextChoices):
        DECISION_MAKER = "decision_maker", _("决策者")
        INFLUENCER = "influencer", _("影响者")
        PURCHASER = "purchaser", _("采购")
        TECHNICAL = "technical", _("技术把关")
        USER = "user", _("使用者")
        FINANCE = "finance", _("财务")
        GATEKEEPER = "gatekeeper", _("联络人")
        OTHER = "other", _("其他")

    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="contacts", verbose_name=_("客户")
    )
    name = models.CharField(_("姓名"), max_length=50)
    title = models.CharField(_("职务"), max_length=50, blank=True)
    mobile = models.CharField(
        _("手机"), max_length=20, blank=True, validators=[validate_mobile], db_index=True
    )
    phone = models.CharField(_("电话"), max_length=30, blank=True)
    email = models.EmailField(_("电子邮箱"), blank=True)
    birthday = models.DateField(_("生日"), null=True, blank=True)
    hobbies = models.CharField(_("爱好"), max_length=200, blank=True)
    notes = models.TextField(_("备注"), blank=True)
    deal_role = models.CharField(_("决策角色"), max_length=20, choices=DealRole.choices, blank=True)
    is_primary = models.BooleanField(_("主要联系人"), default=False)
    deleted_at = models.DateTimeField(_("删除时间"), null=True, blank=True)

    objects = CustomerScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("联系人")
        verbose_name_plural = _("联系人")
        ordering = ["-is_primary", "id"]

    def __str__(self) -> str:
        return self.name


class ContactRelation(CustomerChild):
    """One edge of the relationship circle (联络圈): `source` influences `target`."""

    class Kind(models.TextChoices):
        INFLUENCES = "influences", _("影响")
        REPORTS_TO = "reports_to", _("汇报给")
        FRIEND = "friend", _("朋友")
        FAMILY = "family", _("亲属")
        FORMER_COLLEAGUE = "former_colleague", _("前同事")

    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="contact_relations"
    )
    source = models.ForeignKey(
        Contact, on_delete=models.CASCADE, related_name="relations_out", verbose_name=_("联系人")
    )
    target = models.ForeignKey(
        Contact, on_delete=models.CASCADE, related_name="relations_in", verbose_name=_("关联联系人")
    )
    kind = models.CharField(_("关系"), max_length=20, choices=Kind.choices, default=Kind.INFLUENCES)
    strength = models.PositiveSmallIntegerField(_("影响程度（1–5）"), default=3)
    note = models.CharField(_("说明"), max_length=200, blank=True)

    objects = CustomerScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("联系人关系")
        verbose_name_plural = _("联系人关系")
        constraints = [
            models.UniqueConstraint(
                fields=["source", "target", "kind"], name="contact_relation_unique"
            ),
            models.CheckConstraint(
                condition=~Q(source=models.F("target")), name="contact_relation_not_self"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source} → {self.target}"


class SpecialDate(CustomerChild):
    class Kind(models.TextChoices):
        BIRTHDAY = "birthday", _("生日")
        COMPANY_ANNIVERSARY = "company_anniversary", _("公司周年庆")
        WEDDING_ANNIVERSARY = "wedding_anniversary", _("结婚纪念日")
        RELOCATION = "relocation", _("乔迁")
        PROMOTION = "promotion", _("升迁")
        FESTIVAL = "festival", _("节日")
        OTHER = "other", _("其他")

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="special_dates")
    contact = models.ForeignKey(
        Contact,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="special_dates",
        verbose_name=_("联系人"),
    )
    kind = models.CharField(_("类型"), max_length=24, choices=Kind.choices)
    date = models.DateField(_("日期"))
    recurring = models.BooleanField(_("每年重复"), default=True)
    remind_days_before = models.PositiveSmallIntegerField(_("提前提醒天数"), default=10)
    note = models.CharField(_("说明"), max_length=200, blank=True)

    objects = CustomerScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("特殊日期")
        verbose_name_plural = _("特殊日期")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.date}"


def attachment_path(instance: Attachment, filename: str) -> str:
    return f"attachments/{instance.customer_id}/{filename}"


class Attachment(CustomerChild):
    class Kind(models.TextChoices):
        BUSINESS_LICENCE = "business_licence", _("营业执照")
        QUALIFICATION = "qualification", _("资质证书")
        CONTRACT = "contract", _("合同/协议")
        PHOTO = "photo", _("照片")
        OTHER = "other", _("其他")

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="attachments")
    file = models.FileField(_("文件"), upload_to=attachment_path, max_length=300)
    name = models.CharField(_("文件名"), max_length=200)
    kind = models.CharField(_("类型"), max_length=20, choices=Kind.choices, default=Kind.OTHER)
    secrecy_level = models.CharField(
        _("密级"), max_length=12, choices=SecrecyLevel.choices, default=SecrecyLevel.NORMAL
    )
    size = models.PositiveBigIntegerField(_("大小（字节）"), default=0)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("上传人"),
    )
    uploaded_at = models.DateTimeField(_("上传时间"), auto_now_add=True)
    deleted_at = models.DateTimeField(_("删除时间"), null=True, blank=True)

    objects = CustomerScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("附件")
        verbose_name_plural = _("附件")
        ordering = ["-uploaded_at"]

    def __str__(self) -> str:
        return self.name


# Models of the app's sub-packages live beside their code but belong to this app.
from guanxi.customers.dedup.models import DuplicateDismissal, MergeRecord  # noqa: E402
from guanxi.customers.imports.models import ImportJob, ImportMapping  # noqa: E402

__all__ = [
    "Attachment",
    "Contact",
    "ContactRelation",
    "Customer",
    "DuplicateDismissal",
    "ImportJob",
    "ImportMapping",
    "Industry",
    "MergeRecord",
    "Region",
    "SecrecyLevel",
    "SpecialDate",
    "Tag",
]
