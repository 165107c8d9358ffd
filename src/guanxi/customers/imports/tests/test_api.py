"""The import API: upload, preview, commit, status, report, saved mappings; the permission
matrix (anonymous, no permission, somebody else's job, own job)."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from guanxi.core.testing import api_client, valid_credit_code
from guanxi.customers.imports.models import ImportJob, ImportMapping
from guanxi.customers.imports.tests.conftest import read_xlsx, xlsx_bytes
from guanxi.customers.models import Customer

HEADERS = ["客户", "统一社会信用代码", "主要负责人", "联系人", "手机", "自定义"]
GOOD = ["瑞丰建材有限公司", valid_credit_code(21), "张伟", "王经理", "13812345678", "备忘"]
BAD = ["宏达物流有限公司", "91110000XXXXXXXXX1", "张伟", "李经理", "1381234", ""]


def upload(client, rows, **extra):
    file = SimpleUploadedFile("客户.xlsx", xlsx_bytes(HEADERS, rows))
    return client.post("/api/imports/", {"file": file, **extra}, format="multipart")


def test_upload_preview_commit_status_and_report(org):
    client = api_client(org.sales_bj)
    created = upload(client, [GOOD, BAD], mapping=json.dumps({"自定义": "notes"}))
    assert created.status_code == 201, created.json()
    job = created.json()
    assert job["status"] == "uploaded"
    assert job["total_rows"] == 2
    assert job["mapping"]["自定义"] == "notes"
    assert job["mapping"]["手机"] == "contact_mobile"

    preview = client.get(f"/api/imports/{job['id']}/preview/")
    assert preview.status_code == 200
    body = preview.json()
    assert body["header_row"] == 1
    assert body["headers"] == HEADERS
    assert [row["row"] for row in body["rows"]] == [2, 3]
    assert [row["result"] for row in body["rows"]] == ["created", ""]
    assert {(e["row"], e["column"]) for e in body["errors"]} == {
        (3, "统一社会信用代码"),
        (3, "手机"),
    }
    assert not Customer.objects.exists()

    committed = client.post(f"/api/imports/{job['id']}/commit/", {}, format="json")
    assert committed.status_code == 202
    assert committed.json()["status"] == "refused"
    assert committed.json()["report_url"] == f"/api/imports/{job['id']}/report/"
    assert not Customer.objects.exists()

    report = client.get(f"/api/imports/{job['id']}/report/")
    assert report.status_code == 200
    rows = read_xlsx(b"".join(report.streaming_content))
    assert [(r[0], r[1]) for r in rows[1:]] == [("3", "统一社会信用代码"), ("3", "手机")]

    again = client.post(f"/api/imports/{job['id']}/commit/", {"valid_only": True}, format="json")
    assert again.status_code == 202
    status = client.get(f"/api/imports/{job['id']}/").json()
    assert (status["status"], status["progress"]) == ("committed", 100)
    assert (status["created_count"], status["error_count"]) == (1, 1)
    assert Customer.objects.get().notes == "备忘"
    assert [j["id"] for j in client.get("/api/imports/").json()] == [job["id"]]


def test_upload_errors_are_structured(org):
    client = api_client(org.sales_bj)
    response = client.post(
        "/api/imports/",
        {"file": SimpleUploadedFile("a.pdf", b"%PDF")},
        format="multipart",
    )
    assert response.status_code == 400
    assert response.json()["detail"] == {"file": ["只能导入 Excel（.xlsx）或 CSV 文件。"]}
    response = upload(client, [GOOD], mapping="{not json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "mapping" in response.json()["detail"]
    response = upload(client, [GOOD], mapping=json.dumps({"客户": "shoe_size"}))
    assert response.status_code == 400
    assert not ImportJob.objects.exists()


def test_commit_with_a_mapping_missing_the_name_is_refused(org):
    client = api_client(org.sales_bj)
    job = upload(client, [GOOD]).json()
    response = client.post(
        f"/api/imports/{job['id']}/commit/", {"mapping": {"客户": ""}}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["detail"] == {"mapping": ["请指定哪一列是客户名称。"]}


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/api/imports/{id}/"),
        ("get", "/api/imports/{id}/preview/"),
        ("post", "/api/imports/{id}/commit/"),
        ("get", "/api/imports/{id}/report/"),
    ],
)
def test_permission_matrix_of_a_job(org, method, path):
    job = upload(api_client(org.sales_bj), [GOOD]).json()
    url = path.format(id=job["id"])
    assert getattr(api_client(), method)(url).status_code == 401
    other = getattr(api_client(org.sales_tj), method)(url)  # not theirs
    assert other.status_code == 404
    assert other.json()["code"] == "not_found"
    assert getattr(api_client(org.sales_bj), method)("/api/imports/abc/").status_code in (404, 405)
    assert ImportJob.objects.get().status == "uploaded"  # nothing happened


def test_without_the_add_permission_403(org):
    client = api_client(org.finance)
    assert client.get("/api/imports/").status_code == 403
    response = upload(client, [GOOD])
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert not ImportJob.objects.exists()
    assert client.get("/api/imports/mappings/").status_code == 403


def test_saved_mappings(org):
    client = api_client(org.sales_bj)
    created = client.post(
        "/api/imports/mappings/",
        {"name": "ERP", "columns": {"公司": "name", "代码": "credit_code"}},
        format="json",
    )
    assert created.status_code == 201
    mapping_id = created.json()["id"]
    assert [m["name"] for m in client.get("/api/imports/mappings/").json()] == ["ERP"]
    assert api_client(org.sales_tj).get("/api/imports/mappings/").json() == []
    job = client.post(
        "/api/imports/",
        {
            "file": SimpleUploadedFile("a.xlsx", xlsx_bytes(["公司", "代码"], [["甲公司", ""]])),
            "mapping_id": mapping_id,
        },
        format="multipart",
    ).json()
    assert job["mapping"] == {"公司": "name", "代码": "credit_code"}
    bad = client.post(
        "/api/imports/mappings/", {"name": "x", "columns": {"a": "nope"}}, format="json"
    )
    assert bad.status_code == 400
    assert (
        api_client(org.sales_tj).delete(f"/api/imports/mappings/{mapping_id}/").status_code == 404
    )
    assert client.delete(f"/api/imports/mappings/{mapping_id}/").status_code == 204
    assert not ImportMapping.objects.exists()
