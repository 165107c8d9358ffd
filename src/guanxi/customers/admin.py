"""Reference data of the customer archive: regions, industries and tags.

The archive itself (customers, contacts, attachments) is edited in the application's own
pages, which apply data scope, masking and history; it is deliberately not in the admin.
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from guanxi.core.admin import AuditedModelAdmin
from guanxi.customers.models import Industry, Region, Tag


@admin.register(Region)
class RegionAdmin(AuditedModelAdmin):
    list_display = ("name", "code", "sort_order")
    list_editable = ("sort_order",)
    search_fields = ("name", "code")
    fields = ("name", "code", "sort_order")


@admin.register(Industry)
class IndustryAdmin(AuditedModelAdmin):
    list_display = ("name", "sort_order")
    list_editable = ("sort_order",)
    search_fields = ("name",)
    fields = ("name", "sort_order")


@admin.register(Tag)
class TagAdmin(AuditedModelAdmin):
    list_display = ("name", "swatch", "customer_count")
    search_fields = ("name",)
    fields = ("name", "colour")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Tag]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                customer_count=Count(
                    "customers", filter=Q(customers__deleted_at__isnull=True), distinct=True
                )
            )
        )

    @admin.display(description=_("颜色"), ordering="colour")
    def swatch(self, obj: Tag) -> SafeString:
        return format_html(
            '<span style="display:inline-block;width:1em;height:1em;border:1px solid #999;'
            'vertical-align:middle;background:{}"></span> {}',
            obj.colour,
            obj.colour,
        )

    @admin.display(description=_("客户数"), ordering="customer_count")
    def customer_count(self, obj: Tag) -> int:
        return obj.customer_count
