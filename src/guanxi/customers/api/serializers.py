"""Shapes of the customer API: type parsing of input, rendering of output.

No business validation here (it lives in customers.services); the one rule applied while
rendering is phone masking, decided by customers.selectors.phones_visible/display_phone.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from guanxi.core.api import AlignedListSerializer, IdField, ListField
from guanxi.customers import selectors
from guanxi.customers.completeness import completeness
from guanxi.customers.models import Contact, Customer, SecrecyLevel
from guanxi.policy.selectors import label_for

PHONE_FIELDS = {"phone", "fax", "mobile"}


def _text(**kwargs: Any) -> serializers.CharField:
    """Free text; lengths and formats are checked by the services (full_clean)."""
    kwargs.setdefault("required", False)
    kwargs.setdefault("allow_blank", True)
    return serializers.CharField(**kwargs)


def _choice(choices: Any, **kwargs: Any) -> serializers.ChoiceField:
    return serializers.ChoiceField(choices=choices, required=False, allow_blank=True, **kwargs)


def phones_visible(context: dict[str, Any], customer: Customer) -> bool:
    """selectors.phones_visible, asked once per customer while rendering a response."""
    known = context.setdefault("phones_visible", {})
    if customer.pk not in known:
        known[customer.pk] = selectors.phones_visible(
            actor=context["request"].user, customer=customer
        )
    return known[customer.pk]


def _mask(data: dict[str, Any], *, visible: bool) -> dict[str, Any]:
    for name in PHONE_FIELDS & data.keys():
        data[name] = selectors.display_phone(data[name], visible=visible)
    return data


class RelatedIdField(IdField):
    """A foreign key as its id: parsed as a plain id (the service resolves it), rendered from
    `<name>_id` without loading the related row."""

    def get_attribute(self, instance: Any) -> Any:
        return getattr(instance, f"{self.source}_id")


class RelatedListField(ListField):
    """A many-to-many relation rendered as a sorted list of one attribute of each row
    (prefetched by the caller)."""

    def __init__(self, *, attribute: str, **kwargs: Any):
        self.attribute = attribute
        super().__init__(**kwargs)

    def get_attribute(self, instance: Any) -> Any:
        return sorted(getattr(row, self.attribute) for row in getattr(instance, self.source).all())


# --- contacts ----------------------------------------------------------------------------------
class NestedContactSerializer(serializers.Serializer):
    """A contact inside a customer. On PATCH, an item with `id` updates that contact, an
    item without adds one, and live contacts left out of the list are removed."""

    id = IdField(required=False, help_text="已有联系人的ID；新联系人不填")
    name = serializers.CharField(help_text="姓名")
    title = _text(help_text="职务")
    mobile = _text(help_text="手机；非本人客户显示为 138****1234")
    phone = _text(help_text="电话；非本人客户脱敏")
    email = _text(help_text="电子邮箱")
    birthday = serializers.DateField(required=False, allow_null=True, help_text="生日")
    hobbies = _text(help_text="爱好")
    notes = _text(help_text="备注")
    deal_role = _choice(Contact.DealRole.choices, help_text="决策角色")
    is_primary = serializers.BooleanField(required=False, help_text="主要联系人")

    class Meta:
        list_serializer_class = AlignedListSerializer

    def to_representation(self, instance: Contact) -> dict[str, Any]:
        # instance.customer is the already loaded customer (prefetch or related manager).
        data = super().to_representation(instance)
        return _mask(data, visible=phones_visible(self.context, instance.customer))


class ContactSerializer(NestedContactSerializer):
    """A contact on its own (/api/contacts/); `customer` is the customer's id."""

    id = serializers.IntegerField(read_only=True)
    customer = RelatedIdField(help_text="客户ID")
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)


class ContactUpdateSerializer(ContactSerializer):
    """A contact stays with its customer; every field is optional."""

    customer = serializers.IntegerField(source="customer_id", read_only=True)


# --- customers ---------------------------------------------------------------------------------
class MissingFieldSerializer(serializers.Serializer):
    field = serializers.CharField()
    label = serializers.CharField()


class CompletenessSerializer(serializers.Serializer):
    score = serializers.IntegerField(help_text="0–100")
    missing = MissingFieldSerializer(many=True, help_text="策略要求但尚未填写的字段")


class CustomerSerializer(serializers.Serializer):
    """A customer archive. Related records are given and shown by id, `tags` by name.
    `phone`, `fax` and the contacts' numbers are masked unless the customer is the
    requester's own (owner or co-owner). `contacts`, when given on PATCH, is the full list."""

    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(help_text="客户名称")
    credit_code = _text(help_text="统一社会信用代码（18位，GB 32100-2015 校验位）")
    credit_code_override_reason = _text(help_text="保留校验未通过代码的原因（仅档案管理员）")
    legal_representative = _text(help_text="法定代表人")
    registered_capital = serializers.DecimalField(
        max_digits=None,
        decimal_places=None,
        required=False,
        allow_null=True,
        help_text="注册资本（万元）",
    )
    business_scope = _text(help_text="经营范围")
    address = _text(help_text="地址")
    postcode = _text(help_text="邮编")
    phone = _text(help_text="电话；非本人客户脱敏")
    fax = _text(help_text="传真；非本人客户脱敏")
    email = _text(help_text="电子邮箱")
    website = _text(help_text="网址")
    industry = RelatedIdField(required=False, allow_null=True, help_text="行业ID")
    industry_name = serializers.CharField(source="industry.name", read_only=True, allow_null=True)
    customer_type = _text(help_text="客户类型代码（策略 customers.types）")
    customer_type_label = serializers.SerializerMethodField()
    region = RelatedIdField(required=False, allow_null=True, help_text="区域ID")
    region_name = serializers.CharField(source="region.name", read_only=True, allow_null=True)
    department = RelatedIdField(required=False, help_text="分支机构（部门）ID；默认为负责人的部门")
    department_name = serializers.CharField(source="department.name", read_only=True)
    source_channel = _choice(Customer.SourceChannel.choices, help_text="来源渠道")
    owner = RelatedIdField(required=False, help_text="负责人（用户ID）；默认为当前用户")
    owner_name = serializers.CharField(source="owner.display_name", read_only=True)
    co_owners = RelatedListField(
        attribute="pk", child=IdField(), required=False, help_text="协作负责人（用户ID）"
    )
    tags = RelatedListField(
        attribute="name",
        child=serializers.CharField(max_length=30),
        required=False,
        help_text="标签名称；不存在的标签会被创建",
    )
    value_tier = _choice(Customer.ValueTier.choices, help_text="价值分类")
    secrecy_level = serializers.ChoiceField(
        choices=SecrecyLevel.choices, required=False, help_text="密级"
    )
    first_contact_on = serializers.DateField(
        required=False, allow_null=True, help_text="首次接触日期"
    )
    notes = _text(help_text="备注")
    cooperation_status = serializers.CharField(read_only=True, help_text="合作状态")
    grade = serializers.CharField(read_only=True, help_text="客户等级")
    credit_level = serializers.CharField(read_only=True, help_text="资信等级")
    completeness = serializers.SerializerMethodField()
    contacts = NestedContactSerializer(many=True, required=False, source="live_contacts")
    confirm_duplicate = serializers.BooleanField(
        required=False,
        default=False,
        write_only=True,
        help_text="新建时：名称与已有客户相同或相近（409 possible_duplicate）时，确认仍然创建",
    )
    created_by = serializers.IntegerField(source="created_by_id", read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)

    def get_customer_type_label(self, customer: Customer) -> str:
        return (
            label_for("customers.types", customer.customer_type) if customer.customer_type else ""
        )

    @extend_schema_field(CompletenessSerializer)
    def get_completeness(self, customer: Customer) -> dict[str, Any]:
        result = completeness(customer, has_contacts=bool(customer.live_contacts))
        return {
            "score": result.score,
            "missing": [{"field": field, "label": label} for field, label in result.missing],
        }

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        value = super().to_internal_value(data)
        if "live_contacts" in value:
            value["contacts"] = value.pop("live_contacts")
        return value

    def to_representation(self, instance: Customer) -> dict[str, Any]:
        # Lists prefetch live contacts into `live_contacts`; one customer reads them here.
        if not hasattr(instance, "live_contacts"):
            instance.live_contacts = list(selectors.customer_contacts(customer=instance))
        data = super().to_representation(instance)
        return _mask(data, visible=phones_visible(self.context, instance))


# --- history -----------------------------------------------------------------------------------
class HistoryEventSerializer(serializers.Serializer):
    """One change in a customer's history: who, when, what, {field: [old, new]}. Phone
    numbers in the changes are masked like the customer's own."""

    id = serializers.IntegerField()
    at = serializers.DateTimeField(help_text="时间")
    actor = serializers.IntegerField(source="actor_id", allow_null=True, help_text="操作人ID")
    actor_name = serializers.CharField(help_text="操作人")
    action = serializers.CharField(help_text="操作，如 customer.updated、contact.created")
    object_type = serializers.CharField()
    object_id = serializers.CharField()
    object_repr = serializers.CharField(help_text="对象")
    changes = serializers.DictField(
        child=serializers.ListField(child=serializers.JSONField(allow_null=True)),
        help_text="{字段: [原值, 新值]}",
    )
    note = serializers.CharField()

    def to_representation(self, instance: Any) -> dict[str, Any]:
        data = super().to_representation(instance)
        visible = phones_visible(self.context, self.context["customer"])
        for field in PHONE_FIELDS & data["changes"].keys():
            data["changes"][field] = [
                selectors.display_phone(value, visible=visible) if isinstance(value, str) else value
                for value in data["changes"][field]
            ]
        return data
