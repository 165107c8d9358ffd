"""The import pages and the CLI: upload → preview → start → outcome and report; progress
polling; permissions; `python -m guanxi import-customers` exit codes and --report."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from guanxi.core.testing import valid_credit_code
from guanxi.customers.imports import services
from guanxi.customers.imports.models import ImportJob, ImportMapping
from guanxi.customers.imports.tests.conftest import read_xlsx, xlsx_bytes
from guanxi.customers.models import Customer

HEADERS = ["序号", "客户", "统一社会信用代码", "主要负责人", "联系人", "联系方式", "合作状态"]
GOOD = ["1", "瑞丰建材有限公司", valid_credit_code(31), "张伟", "王经理", "13812345678", "合作良好"]
BAD = ["2", "宏达物流有限公司", "91110000XXXXXXXXX1", "张伟", "李经理", "1381234567", "很好"]


def upload(client, user, rows, name="客户.xlsx"):
    client.force_login(user)
    file = SimpleUploadedFile(name, xlsx_bytes(HEADERS, rows))
    return client.post(reverse("customer_import"), {"file": file})


def test_upload_preview_and_import(client, org):
    response = upload(client, org.sales_bj, [GOOD, BAD])
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("customer_import_detail", args=[job.pk])

    page = client.get(response["Location"]).content.decode()
    assert 'id="import-mapping"' in page
    assert "列对应（表头在第 1 行）" in page
    assert "瑞丰建材有限公司" in page
    assert "统一社会信用代码校验位错误" in page  # the dry run's row error
    assert "合作状态“很好”无效" in page
    assert not Customer.objects.exists()

    # keyed by header: PostgreSQL jsonb does not keep key order
    form = {f"col_{i}": job.mapping[header] for i, header in enumerate(HEADERS)}
    response = client.post(response["Location"], {**form, "action": "start", "save_as": "统计表"})
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "未导入（有错误）" in page
    assert reverse("customer_import_report", args=[job.pk]) in page
    assert ImportMapping.objects.get(created_by=org.sales_bj).name == "统计表"
    assert not Customer.objects.exists()

    report = client.get(reverse("customer_import_report", args=[job.pk]))
    assert report.status_code == 200
    rows = read_xlsx(b"".join(report.streaming_content))
    assert {r[1] for r in rows[1:]} == {"统一社会信用代码", "联系方式", "合作状态"}

    response = client.post(
        reverse("customer_import_detail", args=[job.pk]),
        {**form, "action": "start", "valid_only": "on"},
    )
    page = client.get(response["Location"]).content.decode()
    assert "已导入" in page
    assert Customer.objects.get().name == "瑞丰建材有限公司"


def test_remapping_a_column_in_the_preview(client, org):
    upload(client, org.sales_bj, [GOOD])
    job = ImportJob.objects.get()
    # keyed by header: PostgreSQL jsonb does not keep key order
    form = {f"col_{i}": job.mapping[header] for i, header in enumerate(HEADERS)}
    form["col_6"] = ""  # 合作状态 not imported
    page = client.post(
        reverse("customer_import_detail", args=[job.pk]), {**form, "action": "preview"}
    ).content.decode()
    assert '<option value="" selected>（不导入）</option>' in page


def test_progress_is_polled_while_the_worker_runs(client, org, monkeypatch):
    monkeypatch.setattr(services, "INLINE_MAX_ROWS", 0)
    upload(client, org.sales_bj, [GOOD])
    job = ImportJob.objects.get()
    # keyed by header: PostgreSQL jsonb does not keep key order
    form = {f"col_{i}": job.mapping[header] for i, header in enumerate(HEADERS)}
    # The on-commit enqueue never fires inside the test transaction: the job waits.
    response = client.post(
        reverse("customer_import_detail", args=[job.pk]), {**form, "action": "start"}
    )
    page = client.get(response["Location"]).content.decode()
    progress_url = reverse("customer_import_progress", args=[job.pk])
    assert f'hx-get="{progress_url}"' in page
    assert 'hx-trigger="every 1s"' in page
    assert "排队中" in page
    partial = client.get(progress_url, headers={"HX-Request": "true"})
    assert partial.status_code == 200
    assert "已处理 0 / 1 行" in partial.content.decode()
    services.import_job_run(job_id=job.pk)
    done = client.get(progress_url, headers={"HX-Request": "true"})
    assert done["HX-Refresh"] == "true"  # finished: the page reloads with the outcome


def test_index_lists_own_jobs_only(client, org):
    upload(client, org.sales_bj, [GOOD], name="我的.xlsx")
    upload(client, org.sales_tj, [GOOD], name="别人的.xlsx")
    client.force_login(org.sales_bj)
    page = client.get(reverse("customer_import")).content.decode()
    assert "我的.xlsx" in page
    assert "别人的.xlsx" not in page


def test_permissions(client, org):
    upload(client, org.sales_bj, [GOOD])
    job = ImportJob.objects.get()
    urls = [
        reverse("customer_import"),
        reverse("customer_import_detail", args=[job.pk]),
        reverse("customer_import_progress", args=[job.pk]),
        reverse("customer_import_template"),
    ]
    client.logout()
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    client.force_login(org.finance)  # no customers.add_customer
    for url in urls:
        assert client.get(url).status_code == 403
    client.force_login(org.sales_tj)  # somebody else's job
    assert client.get(urls[1]).status_code == 404
    assert client.get(reverse("customer_import_report", args=[job.pk])).status_code == 404
    assert client.post(urls[1], {"action": "start"}).status_code == 404
    job.refresh_from_db()
    assert job.status == ImportJob.Status.UPLOADED


def test_template_download(client, org):
    client.force_login(org.sales_bj)
    response = client.get(reverse("customer_import_template"))
    rows = read_xlsx(response.content)
    assert rows[0][0] == "客户统计表"
    assert rows[1][:7] == ["序号", "客户", "统一社会信用代码", "分支机构", "主要负责人", "联系人",
                           "联系方式"]  # fmt: skip


# --- CLI -------------------------------------------------------------------------------------
def write(tmp_path, rows):
    path = tmp_path / "客户.xlsx"
    path.write_bytes(xlsx_bytes(HEADERS, rows))
    return path


def test_cli_committed_exits_zero_and_writes_an_empty_report(org, tmp_path, capsys):
    report = tmp_path / "report.xlsx"
    call_command(
        "import_customers",
        str(write(tmp_path, [GOOD])),
        user="sales_bj",
        report=str(report),
        no_progress=True,
    )
    assert "新建 1 位" in capsys.readouterr().out
    assert read_xlsx(str(report)) == [["行号", "列", "值", "错误说明"]]
    customer = Customer.objects.get()
    assert customer.owner == org.sales_bj
    assert customer.created_by == org.sales_bj


def test_cli_refused_exits_non_zero_with_the_report(org, tmp_path):
    report = tmp_path / "report.xlsx"
    with pytest.raises(CommandError) as excinfo:
        call_command(
            "import_customers",
            str(write(tmp_path, [GOOD, BAD])),
            user="sales_bj",
            report=str(report),
            no_progress=True,
        )
    assert excinfo.value.returncode == 1
    assert not Customer.objects.exists()
    rows = read_xlsx(str(report))
    assert {row[0] for row in rows[1:]} == {"3"}


def test_cli_valid_only(org, tmp_path):
    call_command(
        "import_customers",
        str(write(tmp_path, [GOOD, BAD])),
        user="sales_bj",
        valid_only=True,
        no_progress=True,
    )
    assert Customer.objects.count() == 1


def test_cli_acts_as_the_user(org, tmp_path):
    with pytest.raises(CommandError) as excinfo:
        call_command(
            "import_customers", str(write(tmp_path, [GOOD])), user="finance", no_progress=True
        )
    assert excinfo.value.returncode == 1
    with pytest.raises(CommandError):
        call_command(
            "import_customers", str(write(tmp_path, [GOOD])), user="nobody", no_progress=True
        )
    assert not Customer.objects.exists()


def test_index_queries_do_not_grow_with_the_jobs(client, org, django_assert_max_num_queries):
    for _ in range(3):
        upload(client, org.sales_bj, [GOOD])
    with django_assert_max_num_queries(12):
        assert client.get(reverse("customer_import")).status_code == 200
