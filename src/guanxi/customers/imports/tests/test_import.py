"""Importing customers through customers.imports.services: the acceptance file (客户统计表
columns, GBK, a few hundred rows with bad codes, bad mobiles and duplicates), column
recognition, references, re-import without duplicates, scope, and the history."""

from __future__ import annotations

import itertools
import os

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction

from guanxi.audit.models import AuditEvent
from guanxi.core import ahead
from guanxi.core.errors import PermissionDenied, ValidationFailed
from guanxi.core.testing import make_customer, make_user, valid_credit_code
from guanxi.customers.imports import services
from guanxi.customers.imports.columns import detect_mapping
from guanxi.customers.imports.models import ImportJob, ImportMapping
from guanxi.customers.imports.tests.conftest import (
    csv_bytes,
    read_xlsx,
    xlsx_upload,
)
from guanxi.customers.models import Contact, Customer

HEADERS = ["序号", "客户", "统一社会信用代码", "分支机构", "主要负责人", "联系人", "联系方式",
           "合作状态", "表示颜色"]  # fmt: skip
BRANDS = ["瑞丰", "宏达", "金鼎", "华森", "鑫源", "泰和", "凯盛", "永利", "恒通", "博远",
          "天元", "中科", "东方", "新世", "正大"]  # fmt: skip
TRADES = ["建材", "物流", "钢构", "机电", "装饰", "化工", "电气", "幕墙", "照明", "环保",
          "暖通", "门窗", "涂料", "管业", "石材", "玻璃", "木业", "电缆", "水泥", "陶瓷"]  # fmt: skip
LADDER = [("合作良好", "绿色"), ("维持良好", "蓝色"), ("问题客户", "黄色"), ("没有合作", "白色")]
BAD_CODES = {10, 20}  # 序号 of rows with a wrong check character
BAD_MOBILES = {30, 40}
DUPLICATES = {50: 5, 51: 6}  # 序号 → the 序号 it repeats
UNKNOWN_OWNER = {60}
BAD_ROWS = BAD_CODES | BAD_MOBILES | set(DUPLICATES) | UNKNOWN_OWNER
ROWS = 300


def company(number: int) -> str:
    brand, trade = list(itertools.product(BRANDS, TRADES))[number - 1]
    return f"{brand}{trade}有限公司"


def statistics_rows(count: int = ROWS) -> list[list[str]]:
    """The acceptance file: 客户统计表 columns plus credit code and contact person."""
    rows = []
    for n in range(1, count + 1):
        code = valid_credit_code(1000 + n)
        if n in BAD_CODES:
            code = code[:-1] + ("0" if code[-1] != "0" else "1")
        mobile = f"139{n:08d}"
        if n in BAD_MOBILES:
            mobile = mobile[:-1]  # ten digits
        owner, branch = ("张伟", "北京分公司") if n % 2 else ("李娜", "天津办事处")
        if n in UNKNOWN_OWNER:
            owner = "查无此人"
        status, colour = LADDER[n % len(LADDER)]
        name = company(n)
        if n in DUPLICATES:
            first = DUPLICATES[n]
            name, code = company(first), valid_credit_code(1000 + first)
        rows.append([str(n), name, code, branch, owner, f"联系人{n}", mobile, status, colour])
    return rows


def gbk_upload(rows: list[list[str]], name: str = "客户统计表.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, csv_bytes(HEADERS, rows, encoding="gbk"))


def run(actor, upload, **kwargs) -> ImportJob:
    """Import in this process (as the CLI does); the worker's path has its own tests."""
    job = services.import_job_create(actor=actor, file=upload)
    kwargs.setdefault("run_inline", True)
    return services.import_job_start(actor=actor, job=job, **kwargs)


def report_rows(job: ImportJob) -> list[list[str]]:
    with job.report.open("rb") as handle:
        return read_xlsx(handle.read())


# --- the acceptance file --------------------------------------------------------------------
def test_gbk_statistics_file_all_or_nothing_refuses_with_a_precise_report(org):
    job = run(org.supervisor_north, gbk_upload(statistics_rows()))

    assert job.status == ImportJob.Status.REFUSED
    assert job.encoding == "gb18030"
    assert job.total_rows == ROWS
    assert job.error_count == len(BAD_ROWS)
    assert (job.created_count, job.updated_count) == (0, 0)
    assert Customer.objects.count() == 0
    assert Contact.objects.count() == 0
    assert not AuditEvent.objects.filter(action__startswith="customer.").exists()
    assert "7 行有错误，全部未导入" in job.message

    report = report_rows(job)
    assert report[0] == ["行号", "列", "值", "错误说明"]
    by_row = {int(row[0]): row for row in report[1:]}
    # Sheet rows: the header is row 1, 序号 n is on row n + 1.
    assert by_row[11][1:3] == ["统一社会信用代码", statistics_rows()[9][2]]
    assert "校验位错误" in by_row[11][3]
    assert by_row[31][1:3] == ["联系方式", "1390000003"]
    assert by_row[31][3] == "手机号码应为11位中国大陆手机号，以13–19开头，例如 13812345678。"
    assert by_row[51][1] == "统一社会信用代码"
    assert by_row[51][3] == "与第 6 行是同一客户，重复的行不导入。"
    assert by_row[61][1:3] == ["主要负责人", "查无此人"]
    assert by_row[61][3] == "系统中没有名为“查无此人”的用户（请填写姓名或用户名）。"
    assert sorted(by_row) == sorted(n + 1 for n in BAD_ROWS)
    # The second sheet holds the failing rows as they were, ready to be corrected.
    failing = read_xlsx(job.report.path, sheet=1)
    assert failing[0] == [*HEADERS, "错误说明"]
    assert [row[0] for row in failing[1:]] == [str(n) for n in sorted(BAD_ROWS)]


def test_valid_only_imports_the_good_rows_and_a_second_import_creates_no_duplicates(org):
    job = run(org.supervisor_north, gbk_upload(statistics_rows()), valid_only=True)

    good = ROWS - len(BAD_ROWS)
    assert job.status == ImportJob.Status.COMMITTED
    assert (job.created_count, job.updated_count, job.error_count) == (good, 0, len(BAD_ROWS))
    assert Customer.objects.count() == good
    assert not Customer.objects.filter(name=company(10)).exists()
    first = Customer.objects.get(name=company(1))
    assert first.credit_code == valid_credit_code(1001)
    assert (first.owner, first.department) == (org.sales_bj, org.beijing)
    assert first.cooperation_status == "blue"
    assert list(first.contacts.values_list("name", "mobile")) == [("联系人1", "13900000001")]
    second = Customer.objects.get(name=company(2))
    assert (second.owner, second.department) == (org.sales_tj, org.tianjin)
    assert second.cooperation_status == "yellow"

    again = run(org.supervisor_north, gbk_upload(statistics_rows()), valid_only=True)
    assert again.status == ImportJob.Status.COMMITTED
    assert (again.created_count, again.updated_count) == (0, 0)
    assert Customer.objects.count() == good
    assert Contact.objects.count() == good
    assert f"无变化 {good} 位" in again.message


def test_imported_changes_are_in_the_history_with_source_import(org):
    rows = statistics_rows(3)
    run(org.supervisor_north, gbk_upload(rows))
    customer = Customer.objects.get(name=company(1))
    events = AuditEvent.objects.filter(customer_id=customer.pk)
    assert sorted(e.action for e in events) == ["contact.created", "customer.created"]
    assert {e.source for e in events} == {"import"}
    # 合作状态 is written by the importer and recorded like any other field.
    created = events.get(action="customer.created")
    assert created.changes["cooperation_status"] == [None, "维持良好"]
    assert created.changes["name"] == [None, company(1)]
    assert created.changes["owner"] == [None, str(org.sales_bj)]
    assert events.get(action="contact.created").changes == {"name": [None, "联系人1"]}
    assert AuditEvent.objects.get(action="import.committed").changes["created"] == [None, 3]


def test_fixing_the_file_and_importing_again_commits(org):
    rows = statistics_rows(12)
    refused = run(org.supervisor_north, gbk_upload(rows))
    assert refused.status == ImportJob.Status.REFUSED
    rows[9][2] = valid_credit_code(1010)
    fixed = run(org.supervisor_north, gbk_upload(rows))
    assert fixed.status == ImportJob.Status.COMMITTED
    assert fixed.created_count == 12
    assert not fixed.report


def test_an_xlsx_imported_in_one_process_is_read_once_and_the_heap_left_as_it_was(org, monkeypatch):
    """Upload, start and the inline run share one reading of the workbook; the cycle
    collector's freeze and pause during the run are undone after it."""
    import gc

    import python_calamine

    from guanxi.customers.imports import reader

    opened = []
    real = python_calamine.CalamineWorkbook.from_path

    def counting(path, *args, **kwargs):
        opened.append(path)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(reader.python_calamine.CalamineWorkbook, "from_path", counting)
    frozen = gc.get_freeze_count()
    collecting = []
    real_freeze = gc.freeze
    monkeypatch.setattr(gc, "freeze", lambda: (collecting.append(gc.isenabled()), real_freeze()))
    rows = [[str(n), company(n), valid_credit_code(1000 + n)] for n in range(1, 4)]
    job = run(org.supervisor_north, xlsx_upload(["序号", "客户", "统一社会信用代码"], rows))
    assert (job.status, job.created_count) == (ImportJob.Status.COMMITTED, 3)
    assert len(opened) == 1
    assert collecting == [True]  # the run froze the heap with the collector on
    assert gc.get_freeze_count() == frozen
    assert gc.isenabled()


# --- reading ----------------------------------------------------------------------------------
@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "gbk", "gb18030"])
def test_csv_encodings(org, encoding):
    rows = [["1", "瑞丰建材有限公司", "", "北京分公司", "张伟", "王经理", "13812345678", "", ""]]
    upload = SimpleUploadedFile("a.csv", csv_bytes(HEADERS, rows, encoding=encoding))
    job = run(org.sales_bj, upload)
    assert job.status == ImportJob.Status.COMMITTED
    assert Customer.objects.get().name == "瑞丰建材有限公司"
    assert job.encoding == ("utf-8-sig" if encoding.startswith("utf") else "gb18030")


def test_xlsx_with_a_title_row_and_header_variants(org, reference):
    headers = ["编号", "单位名称", "信用代码※", "所属部门", "业务员", "联系人", "手机",
               "区域", "所属行业", "客户类别", "注册资本（万元）", "公司网址", "自定义列"]  # fmt: skip
    row = ["1", "瑞丰建材有限公司", valid_credit_code(7), "北京分公司", "sales_bj", "王经理",
           13812345678, "华北", "建材", "贸易公司", "500万", "www.ruifeng.cn", "随便"]  # fmt: skip
    job = services.import_job_create(
        actor=org.sales_bj, file=xlsx_upload(headers, [row], title="客户统计表（2026年）")
    )
    assert job.mapping == {
        "编号": "ignore",
        "单位名称": "name",
        "信用代码※": "credit_code",
        "所属部门": "department",
        "业务员": "owner",
        "联系人": "contact_name",
        "手机": "contact_mobile",
        "区域": "region",
        "所属行业": "industry",
        "客户类别": "customer_type",
        "注册资本（万元）": "registered_capital",
        "公司网址": "website",
        "自定义列": "",
    }
    preview = services.import_preview(actor=org.sales_bj, job=job)
    assert preview.header_row == 2
    assert [number for number, _cells in preview.rows] == [3]
    assert preview.errors == []
    assert preview.actions == {3: "created"}
    assert not Customer.objects.exists()  # the preview writes nothing

    job = services.import_job_start(actor=org.sales_bj, job=job, mapping={"自定义列": "notes"})
    customer = Customer.objects.get()
    assert customer.region == reference.north
    assert customer.industry == reference.building
    assert customer.customer_type == "trading"
    assert str(customer.registered_capital) == "500.00"
    assert customer.website == "https://www.ruifeng.cn"
    assert customer.notes == "随便"
    assert customer.contacts.get().mobile == "13812345678"


def test_recognised_headers_of_the_seeds():
    assert detect_mapping(["序号", "客户名称", "统一社会信用代码", "主要负责人", "联系方式",
                           "联系电话", "表示颜色", "法定代表人", "邮编", "传真", "邮箱"]) == {
        "序号": "ignore",
        "客户名称": "name",
        "统一社会信用代码": "credit_code",
        "主要负责人": "owner",
        "联系方式": "contact_number",
        "联系电话": "",  # 联系方式 already feeds the contact number
        "表示颜色": "status_colour",
        "法定代表人": "legal_representative",
        "邮编": "postcode",
        "传真": "fax",
        "邮箱": "email",
    }  # fmt: skip


def test_unreadable_and_wrong_files_are_refused(org):
    with pytest.raises(ValidationFailed) as excinfo:
        services.import_job_create(
            actor=org.sales_bj, file=SimpleUploadedFile("a.pdf", b"%PDF-1.4")
        )
    assert excinfo.value.detail == {"file": ["只能导入 Excel（.xlsx）或 CSV 文件。"]}
    with pytest.raises(ValidationFailed):
        services.import_job_create(
            actor=org.sales_bj, file=SimpleUploadedFile("a.xlsx", b"not a zip")
        )
    assert not ImportJob.objects.exists()


def test_a_mapping_without_the_name_column_cannot_start(org):
    job = services.import_job_create(
        actor=org.sales_bj, file=xlsx_upload(["公司", "电话"], [["甲", "010-1"]])
    )
    with pytest.raises(ValidationFailed) as excinfo:
        services.import_job_start(actor=org.sales_bj, job=job)
    assert excinfo.value.detail == {"mapping": ["请指定哪一列是客户名称。"]}
    job = services.import_job_start(actor=org.sales_bj, job=job, mapping={"公司": "name"})
    assert job.status == ImportJob.Status.COMMITTED


def test_saved_mappings_are_reused(org):
    headers = ["公司", "代码"]
    first = services.import_job_create(
        actor=org.sales_bj, file=xlsx_upload(headers, [["瑞丰建材有限公司", ""]])
    )
    services.import_job_start(
        actor=org.sales_bj,
        job=first,
        mapping={"公司": "name", "代码": "credit_code"},
        save_mapping_as="ERP导出",
    )
    saved = ImportMapping.objects.get(created_by=org.sales_bj)
    assert (saved.name, saved.columns) == ("ERP导出", {"公司": "name", "代码": "credit_code"})
    second = services.import_job_create(
        actor=org.sales_bj,
        file=xlsx_upload(headers, [["宏达物流有限公司", ""]]),
        mapping_id=saved.pk,
    )
    assert second.mapping == {"公司": "name", "代码": "credit_code"}
    with pytest.raises(ValidationFailed):  # somebody else's mapping
        services.import_job_create(
            actor=org.sales_tj, file=xlsx_upload(headers, [["甲", ""]]), mapping_id=saved.pk
        )


# --- values -----------------------------------------------------------------------------------
def one_row(actor, headers, row, **kwargs):
    job = run(actor, xlsx_upload(headers, [row]), **kwargs)
    errors = report_rows(job)[1:] if job.report else []
    return job, [(r[1], r[3]) for r in errors]


def test_status_labels_codes_and_colours(org):
    headers = ["客户", "合作状态", "表示颜色"]
    job, errors = one_row(org.sales_bj, headers, ["瑞丰建材有限公司", "green", ""])
    assert Customer.objects.get().cooperation_status == "green"
    job, errors = one_row(org.sales_bj, headers, ["宏达物流有限公司", "", "黑色"])
    assert Customer.objects.get(name="宏达物流有限公司").cooperation_status == "black"
    job, errors = one_row(org.sales_bj, headers, ["金鼎钢构有限公司", "合作良好", "黄色"])
    assert errors == [("表示颜色", "表示颜色“黄色”与合作状态“合作良好”不一致。")]
    job, errors = one_row(org.sales_bj, headers, ["华森机电有限公司", "很好", ""])
    assert errors == [
        (
            "合作状态",
            "合作状态“很好”无效，应为：合作良好、维持良好、问题客户、没有合作、拒绝合作。",
        )
    ]


def test_customer_type_label_code_and_unknown(org):
    headers = ["客户", "客户类型"]
    one_row(org.sales_bj, headers, ["瑞丰建材有限公司", "建筑工程公司"])
    one_row(org.sales_bj, headers, ["宏达物流有限公司", "trading"])
    assert dict(Customer.objects.values_list("name", "customer_type")) == {
        "瑞丰建材有限公司": "construction",
        "宏达物流有限公司": "trading",
    }
    _job, errors = one_row(org.sales_bj, headers, ["金鼎钢构有限公司", "外星客户"])
    assert errors == [("客户类型", "客户类型不在公司策略允许的范围内。")]  # the service's rule


def test_contact_number_is_a_mobile_or_a_phone_and_masked_numbers_are_ignored(org):
    headers = ["客户", "联系人", "联系方式", "电话"]
    one_row(org.sales_bj, headers, ["瑞丰建材有限公司", "王经理", "138-1234-5678", ""])
    one_row(org.sales_bj, headers, ["宏达物流有限公司", "李经理", "010-88886666转8", ""])
    one_row(org.sales_bj, headers, ["金鼎钢构有限公司", "", "13912345678", ""])
    one_row(org.sales_bj, headers, ["华森机电有限公司", "赵经理", "138****5678", "******6666"])
    contacts = dict(Contact.objects.values_list("customer__name", "mobile"))
    assert contacts["瑞丰建材有限公司"] == "13812345678"
    assert Contact.objects.get(customer__name="宏达物流有限公司").phone == "010-88886666转8"
    # 客户统计表 has no contact-name column: its 联系方式 is the customer's own number.
    assert Customer.objects.get(name="金鼎钢构有限公司").phone == "13912345678"
    masked = Customer.objects.get(name="华森机电有限公司")
    assert masked.phone == ""
    assert list(masked.contacts.values_list("mobile", "phone")) == [("", "")]


def test_owner_and_branch_resolution(org):
    headers = ["客户", "主要负责人", "分支机构"]
    make_user("salesperson", department=org.beijing, username="zhangwei2", name="张伟")
    cases = [
        (["瑞丰建材有限公司", "sales_bj", ""], []),
        (["宏达物流有限公司", "张伟", ""],
         [("主要负责人", "有多位名为“张伟”的用户，请改填用户名。")]),
        (["金鼎钢构有限公司", "李娜", "天津办事处"], []),
        (["华森机电有限公司", "王芳", ""],
         [("主要负责人", "负责人“王芳”不在您的数据范围内，不能为其导入客户。")]),
        (["鑫源装饰有限公司", "", "上海分公司"],
         [("分支机构", "分支机构“上海分公司”不在您的数据范围内。")]),
        (["泰和化工有限公司", "", "火星分公司"],
         [("分支机构", "系统中没有名为“火星分公司”的分支机构。")]),
    ]  # fmt: skip
    for row, expected in cases:
        _job, errors = one_row(org.supervisor_north, headers, row)
        assert errors == expected, row
    assert Customer.objects.get(name="瑞丰建材有限公司").owner == org.sales_bj
    assert Customer.objects.get(name="金鼎钢构有限公司").department == org.tianjin


def test_a_name_close_to_an_existing_customer_is_a_row_error_naming_it(org):
    make_customer(org.sales_bj, name="瑞丰建材有限公司")
    _job, errors = one_row(org.sales_bj, ["客户", "统一社会信用代码"],
                           ["瑞丰建材科技有限公司", valid_credit_code(3)])  # fmt: skip
    assert len(errors) == 1
    column, message = errors[0]
    assert column == "客户"
    assert message.startswith("已有名称相同或相近的客户档案")
    assert "瑞丰建材有限公司（" in message


# --- re-import updates -----------------------------------------------------------------------
def test_reimport_updates_by_credit_code_and_keeps_blank_cells(org, reference):
    code = valid_credit_code(11)
    customer = make_customer(
        org.sales_bj,
        name="瑞丰建材有限公司",
        credit_code=code,
        address="北京市朝阳区建国路1号",
        postcode="100022",
        contacts=[{"name": "王经理", "mobile": "13812345678"}],
    )
    headers = ["客户", "统一社会信用代码", "地址", "邮编", "联系人", "联系方式", "标签"]
    job, errors = one_row(
        org.sales_bj,
        headers,
        [
            "瑞丰建材（北京）有限公司",
            code,
            "北京市朝阳区光华路2号",
            "",
            "王经理",
            "13812345679",
            "重点客户",
        ],
    )
    assert errors == []
    assert (job.created_count, job.updated_count) == (0, 1)
    customer.refresh_from_db()
    assert customer.name == "瑞丰建材（北京）有限公司"
    assert customer.address == "北京市朝阳区光华路2号"
    assert customer.postcode == "100022"  # blank cell: kept
    assert list(customer.contacts.values_list("name", "mobile")) == [("王经理", "13812345679")]
    assert [t.name for t in customer.tags.all()] == ["重点客户"]
    event = AuditEvent.objects.get(action="customer.updated", customer_id=customer.pk)
    assert event.source == "import"
    assert event.changes["address"] == ["北京市朝阳区建国路1号", "北京市朝阳区光华路2号"]
    assert AuditEvent.objects.get(action="contact.updated").source == "import"


def test_reimport_without_code_matches_name_within_region(org, reference):
    customer = make_customer(org.sales_bj, name="北京瑞丰建材有限公司", region=reference.north)
    headers = ["客户", "区域", "地址"]
    job, _errors = one_row(org.sales_bj, headers, ["瑞丰建材有限公司", "华北", "新地址1号"])
    assert (job.created_count, job.updated_count) == (0, 1)
    customer.refresh_from_db()
    assert customer.address == "新地址1号"
    # No region in the row: the name alone decides.
    one_row(org.sales_bj, ["客户", "地址"], ["瑞丰建材有限公司", "新地址2号"])
    customer.refresh_from_db()
    assert customer.address == "新地址2号"
    assert Customer.objects.count() == 1


def test_reimport_cannot_update_a_customer_outside_the_scope(org):
    code = valid_credit_code(12)
    other = make_customer(org.sales_tj, name="宏达物流有限公司", credit_code=code)
    _job, errors = one_row(
        org.sales_bj, ["客户", "统一社会信用代码", "地址"], ["宏达物流有限公司", code, "改地址"]
    )
    assert errors == [
        ("统一社会信用代码", "该客户已在档案中，但不在您的数据范围内，不能通过导入修改。")
    ]
    other.refresh_from_db()
    assert other.address == ""
    assert Customer.objects.count() == 1
    # Their supervisor may.
    job, errors = one_row(
        org.supervisor_north,
        ["客户", "统一社会信用代码", "地址"],
        ["宏达物流有限公司", code, "改地址"],
    )
    assert errors == []
    other.refresh_from_db()
    assert other.address == "改地址"


def test_salesperson_cannot_import_for_another_departments_owner(org):
    _job, errors = one_row(
        org.sales_bj, ["客户", "主要负责人", "分支机构"], ["瑞丰建材有限公司", "李娜", "天津办事处"]
    )
    assert errors == [
        ("主要负责人", "负责人“李娜”不在您的数据范围内，不能为其导入客户。"),
        ("分支机构", "分支机构“天津办事处”不在您的数据范围内。"),
    ]
    assert not Customer.objects.exists()


def test_importing_needs_the_add_permission(org):
    upload = xlsx_upload(["客户"], [["瑞丰建材有限公司"]])
    with pytest.raises(PermissionDenied):
        services.import_job_create(actor=org.finance, file=upload)
    assert not ImportJob.objects.exists()


# --- background ------------------------------------------------------------------------------
def test_large_files_run_in_the_worker_with_progress(
    org, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(services, "INLINE_MAX_ROWS", 5)
    monkeypatch.setattr(services, "CHUNK_ROWS", 4)
    seen: list[int] = []
    rows = statistics_rows(9)
    job = services.import_job_create(actor=org.supervisor_north, file=gbk_upload(rows))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = services.import_job_start(actor=org.supervisor_north, job=job)
    assert job.status == ImportJob.Status.QUEUED
    assert not Customer.objects.exists()
    assert len(callbacks) == 1
    from guanxi.customers.imports import tasks

    original = services._run_chunks

    def recording(*args, **kwargs):
        progress = kwargs.get("progress")
        if progress is not None:
            kwargs["progress"] = lambda done: (seen.append(done), progress(done))
        return original(*args, **kwargs)

    monkeypatch.setattr(services, "_run_chunks", recording)
    callbacks[0]()  # enqueue: the immediate backend runs the task now
    job.refresh_from_db()
    assert job.status == ImportJob.Status.COMMITTED
    assert (job.processed_rows, job.created_count) == (9, 9)
    assert seen == [4, 8, 9]  # the check pass, chunk by chunk
    assert tasks.import_job_run_task.name == "import_job_run_task"
    # A second run of the same task changes nothing (idempotent).
    services.import_job_run(job_id=job.pk)
    assert Customer.objects.count() == 9


def test_the_worker_refuses_a_file_with_errors_after_its_check_pass(
    org, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(services, "CHUNK_ROWS", 16)
    job = services.import_job_create(
        actor=org.supervisor_north, file=gbk_upload(statistics_rows(64))
    )
    with django_capture_on_commit_callbacks(execute=True):
        job = services.import_job_start(actor=org.supervisor_north, job=job, run_inline=False)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.REFUSED
    assert (job.processed_rows, job.error_count) == (64, 7)
    assert not Customer.objects.exists()
    assert sorted(int(r[0]) for r in report_rows(job)[1:]) == [11, 21, 31, 41, 51, 52, 61]
    # Started again with "valid rows only", the same job imports the good ones.
    with django_capture_on_commit_callbacks(execute=True):
        services.import_job_start(
            actor=org.supervisor_north, job=job, valid_only=True, run_inline=False
        )
    job.refresh_from_db()
    assert (job.status, job.created_count, job.error_count) == ("committed", 57, 7)


def _outcome(job: ImportJob) -> tuple:
    """What an import left behind, comparable between runs (ids and times left out)."""
    job.refresh_from_db()
    customers = sorted(
        Customer.objects.values_list(
            "name", "credit_code", "owner__username", "department__name", "cooperation_status"
        )
    )
    contacts = sorted(Contact.objects.values_list("customer__name", "name", "mobile"))
    history = sorted(
        (e.action, e.object_repr, e.source, repr(sorted(e.changes.items())))
        for e in AuditEvent.objects.exclude(action__startswith="import.")
    )
    report = report_rows(job) if job.report else []
    return (job.status, job.created_count, job.error_count, customers, contacts, history, report)


def record_pids(monkeypatch, name, path):
    """Have services.<name> write the id of the process calling it to `path`."""
    original = getattr(services, name)

    def recording(*args, **kwargs):
        with path.open("a") as handle:
            handle.write(f"{os.getpid()}\n")
        return original(*args, **kwargs)

    monkeypatch.setattr(services, name, recording)


@pytest.mark.skipif(not ahead.available(), reason="needs fork")
def test_rows_checked_ahead_in_a_second_process_import_the_same(
    org, monkeypatch, settings, tmp_path
):
    """Files of more than one chunk are read, parsed and checked in a second process
    (core.ahead); what lands in the archive, the history and the report is the same."""
    monkeypatch.setattr(services, "CHUNK_ROWS", 16)
    planned_by = tmp_path / "pids"
    record_pids(monkeypatch, "plan_row", planned_by)
    outcomes = {}
    for enabled in (True, False):
        settings.GUANXI_IMPORT_AHEAD = enabled
        planned_by.write_text("")
        with transaction.atomic():
            refused = run(org.supervisor_north, gbk_upload(statistics_rows(64)))
            valid_only = run(org.supervisor_north, gbk_upload(statistics_rows(64)), valid_only=True)
            outcomes[enabled] = (_outcome(refused), _outcome(valid_only))
            transaction.set_rollback(True)
        pids = set(planned_by.read_text().split())
        assert (str(os.getpid()) not in pids) if enabled else (pids == {str(os.getpid())})
    assert outcomes[True][0][:3] == ("refused", 0, 7)
    assert outcomes[True][1][:3] == ("committed", 57, 7)
    assert outcomes[True] == outcomes[False]


@pytest.mark.skipif(not ahead.available(), reason="needs fork")
def test_duplicates_checked_ahead_against_the_archive_and_earlier_chunks(
    transactional_db, org, monkeypatch, tmp_path
):
    """With nothing but committed data in the archive (no transaction open: the CLI, the
    worker), the second process also reads the archive's name blocks for the duplicate
    check, through a connection of its own; the importing process compares what it filed
    in earlier chunks and earlier in the chunk. Near-duplicates of each kind are refused,
    all-or-nothing and valid-only alike."""
    monkeypatch.setattr(services, "CHUNK_ROWS", 4)
    read_by = tmp_path / "pids"
    read_by.write_text("")
    record_pids(monkeypatch, "archive_hits_many", read_by)
    make_customer(org.sales_bj, name="瑞丰建材有限公司")
    names = [
        "瑞丰建材科技有限公司",  # the archive's
        "宏达物流有限公司",
        "金鼎钢构有限公司",
        "华森机电有限公司",
        "宏达物流科技有限公司",  # row 3's, filed in the chunk before
        "鑫源装饰有限公司",
        "泰和化工有限公司",
        "泰和化工科技有限公司",  # the row before's, in the same chunk
        "凯盛电气有限公司",
        "永利幕墙有限公司",
    ]
    rows = [[name] for name in names]
    expected = {2: "瑞丰建材有限公司", 6: "宏达物流有限公司", 9: "泰和化工有限公司"}

    refused = run(org.sales_bj, xlsx_upload(["客户"], rows))
    assert refused.status == ImportJob.Status.REFUSED
    assert Customer.objects.count() == 1
    committed = run(org.sales_bj, xlsx_upload(["客户"], rows), valid_only=True)
    assert (committed.status, committed.created_count) == (ImportJob.Status.COMMITTED, 7)
    for job in (refused, committed):
        errors = {int(r[0]): r[3] for r in report_rows(job)[1:]}
        assert set(errors) == set(expected)
        for row, candidate in expected.items():
            assert errors[row].startswith("已有名称相同或相近的客户档案")
            assert f"{candidate}（" in errors[row]
    pids = set(read_by.read_text().split())
    assert str(os.getpid()) not in pids
    # On a database a second connection can read (PostgreSQL, an SQLite file), it did.
    assert bool(pids) == ahead.reader_possible()


def test_a_running_job_cannot_be_started_twice(org):
    job = services.import_job_create(
        actor=org.sales_bj, file=xlsx_upload(["客户"], [["瑞丰建材有限公司"]])
    )
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.RUNNING)
    job.refresh_from_db()
    with pytest.raises(Exception) as excinfo:
        services.import_job_start(actor=org.sales_bj, job=job)
    assert excinfo.value.code == "conflict"


def test_a_chunk_reads_the_live_credit_codes_once_unless_it_updated_a_customer(org):
    """The chunk's context reads which live customers hold the rows' codes; filing the new
    customers uses that reading instead of asking again, unless a row of the chunk updated
    a customer (whose code may have changed meanwhile). A row whose code a customer holds
    updates that customer: it is never filed twice."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    taken = make_customer(org.sales_bj, name="宏达物流有限公司", credit_code=valid_credit_code(21))
    headers = ["客户", "统一社会信用代码"]

    def code_reads(rows):
        with CaptureQueriesContext(connection) as queries:
            job = run(org.sales_bj, xlsx_upload(headers, rows))
        reads = [q["sql"] for q in queries.captured_queries
                 if q["sql"].startswith("SELECT") and '"credit_code" IN' in q["sql"]]  # fmt: skip
        return job, len(reads)

    job, reads = code_reads([["瑞丰建材有限公司", valid_credit_code(22)],
                             ["金鼎钢构有限公司", valid_credit_code(23)]])  # fmt: skip
    assert (job.status, job.created_count, reads) == (ImportJob.Status.COMMITTED, 2, 1)
    # One row updates the customer holding its code (no change of code), one is new.
    job, reads = code_reads([["宏达物流（北京）有限公司", taken.credit_code],
                             ["华森机电有限公司", valid_credit_code(24)]])  # fmt: skip
    assert (job.created_count, job.updated_count, reads) == (1, 1, 2)
    taken.refresh_from_db()
    assert taken.name == "宏达物流（北京）有限公司"
    assert Customer.objects.filter(credit_code=taken.credit_code).count() == 1


def test_a_large_import_queues_fresh_planner_statistics(
    org, monkeypatch, django_capture_on_commit_callbacks
):
    """After an import that files many customers the worker refreshes the statistics the
    list and search plans read (a first import into an empty SQLite archive leaves none);
    a small one queues nothing. (The tests' task backend runs a task when it is queued.)"""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    monkeypatch.setattr(services, "STATISTICS_AFTER_ROWS", 3)
    headers = ["客户", "统一社会信用代码"]

    def analysed(rows):
        with (
            CaptureQueriesContext(connection) as queries,
            django_capture_on_commit_callbacks(execute=True),
        ):
            job = run(org.sales_bj, xlsx_upload(headers, rows))
        assert job.status == ImportJob.Status.COMMITTED
        return [q["sql"] for q in queries.captured_queries if q["sql"].startswith("ANALYZE")]

    assert analysed([["瑞丰建材有限公司", valid_credit_code(31)]]) == []
    statements = analysed([[company(n), valid_credit_code(40 + n)] for n in range(2, 5)])
    if connection.vendor == "sqlite":  # index by index, each statement on its own
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA index_list(customers_customer)")
            listed = cursor.fetchall()
            indexes = {row[1] for row in listed}
            # ANALYZE leaves no row for an empty index: the partial ones (migration 0018)
            # hold no customer here
            whole = {row[1] for row in listed if not row[4]}
            cursor.execute("SELECT idx FROM sqlite_stat1 WHERE tbl = 'customers_customer'")
            assert {row[0] for row in cursor.fetchall()} >= whole
        assert indexes <= {sql.split('"')[1] for sql in statements}
    else:
        assert len(statements) == 3 and "customers_customer" in statements[0]


def test_the_run_holds_a_larger_sqlite_page_cache_and_restores_the_connections(org, monkeypatch):
    """On SQLite an import runs with a page cache of SQLITE_CACHE_KIB (its indexes are
    written at random places) and sets the connection's own size back afterwards."""
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("SQLite's page cache")

    def cache_size() -> int:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size")
            return cursor.fetchone()[0]

    before = cache_size()
    during: list[int] = []
    original = services._run_chunks

    def recording(*args, **kwargs):
        during.append(cache_size())
        return original(*args, **kwargs)

    monkeypatch.setattr(services, "_run_chunks", recording)
    job = run(org.sales_bj, xlsx_upload(["客户"], [["瑞丰建材有限公司"]]))
    assert job.status == ImportJob.Status.COMMITTED
    assert during == [-services.SQLITE_CACHE_KIB] and before != during[0]
    assert cache_size() == before
