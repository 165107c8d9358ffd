import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from guanxi.core.testing import REAL_CREDIT_CODES
from guanxi.customers import services
from guanxi.customers.dedup.tests.helpers import add
from guanxi.customers.models import Industry, Tag


@pytest.fixture
def media(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path)},
        },
    }
    return tmp_path


@pytest.fixture
def pair(org, media):
    """Two archives of one company in 北京分公司: the survivor (older, sparse) and the
    duplicate to merge into it (a credit code, contacts, their relation, a special date, an
    attachment, tags, a co-owner and some history)."""

    class Pair:
        industry = Industry.objects.create(name="建材")
        survivor = add(
            org.sales_bj,
            "北京华建建材有限公司",
            phone="010-66668888",
            address="北京市朝阳区建国路1号",
            tags=["重点客户"],
        )
        merged = add(
            org.sales_bj,
            "华建建材（北京）有限公司",
            credit_code=REAL_CREDIT_CODES["华为技术有限公司"],
            phone="010-12345678",
            address="北京市海淀区中关村大街2号",
            legal_representative="王建华",
            industry=industry.pk,
            tags=["重点客户", "华北"],
            co_owners=[org.sales_tj.pk],
            contacts=[
                {"name": "王经理", "mobile": "13812345678", "is_primary": True},
                {"name": "李总", "mobile": "13900001111"},
            ],
        )
        boss, buyer = merged.contacts.order_by("id")
        relation = services.contact_relation_create(
            actor=org.sales_bj, source_id=buyer.pk, target_id=boss.pk
        )
        special_date = services.special_date_create(
            actor=org.sales_bj,
            customer_id=merged.pk,
            data={"kind": "company_anniversary", "date": dt.date(2010, 5, 1)},
        )
        attachment = services.attachment_add(
            actor=org.sales_bj,
            customer_id=merged.pk,
            file=SimpleUploadedFile("营业执照.pdf", b"%PDF-1.4"),
            kind="business_licence",
        )
        services.customer_update(
            actor=org.sales_bj, customer_id=merged.pk, data={"notes": "老客户，2015年起合作"}
        )

    Pair.tags = {tag.name: tag for tag in Tag.objects.all()}
    return Pair
