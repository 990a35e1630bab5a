"""R15 — bad input never loses data: customer imports (CSV UTF-8/GBK, Excel) through the bulk path.

Every bad row is reported with its row number and a reason; every good row is imported exactly once; all-or-nothing
imports nothing when a row is bad; importing the same file twice creates no duplicates; oversize, empty and
wrongly-encoded files are refused with stable codes; only supervisors and operations managers import, and an import
is invisible outside its branch scope.
"""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from bankcrm.core import crypto
from bankcrm.core.errors import NotFound, PermissionDenied, RuleViolation, ValidationFailed
from bankcrm.core.identifiers import ric_check_char, uscc_check_char
from bankcrm.core.models import AuditEvent
from bankcrm.customers import bulk, imports
from bankcrm.customers.models import Customer, CustomerImport, ManagerAssignment, NameBigram
from tests.conftest import login_client, write_figures

pytestmark = pytest.mark.django_db

HEADER = ["姓名", "证件类型", "证件号码", "手机号码", "电子邮箱", "地址", "职业", "客户类型"]


def ric(seq: int, born: str = "19800101", region: str = "110105") -> str:
    body = f"{region}{born}{seq:03d}"
    return body + ric_check_char(body)


def uscc(body_tail: str = "600037341") -> str:
    body = "91110000" + body_tail
    return body + uscc_check_char(body)


def bad_check_digit(number: str) -> str:
    return number[:-1] + ("0" if number[-1] != "0" else "1")


def good_rows(n: int, start: int = 0) -> list[list[str]]:
    names = ["张伟", "王芳", "李娜", "刘敏", "陈静", "杨丽", "黄强", "赵磊", "吴军", "周洋"]
    return [[names[i % len(names)] + ("" if i < 10 else "华"), "居民身份证", ric(start + i, born=f"19{60 + i % 30}0101"),
             f"1381234{start + i:04d}", f"u{start + i}@example.cn" if i % 2 else "", f"北京市朝阳区建国路{i + 1}号", "教师", "个人"]
            for i in range(n)]


def to_csv(rows: list[list[str]], header: list[str] = HEADER, encoding: str = "utf-8") -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue().encode(encoding)


# ---- The bulk path on its own ---------------------------------------------------------------------------------------
def test_bulk_register_matches_one_at_a_time_registration(bank):
    registrar = bulk.BulkRegistrar(actor=bank.supervisor_a, default_manager=bank.cm_a1, source="test")
    rows = [(2, bulk.as_input(name="单田芳", id_number=ric(1, born="19341212"), mobile="+86 138 0013 8000",
                              email="Shan@Example.CN", address="北京市西城区", occupation="曲艺")),
            (3, bulk.as_input(kind="企业", name="北京华信科技有限公司", id_number="91110000600037341L"))]
    total, errors = bulk.register_rows(rows, registrar=registrar)
    assert (total, errors) == (2, [])
    p = Customer.objects.get(name="单田芳")
    assert (p.kind, p.id_type, p.birth_date, p.gender) == ("person", "resident_id", date(1934, 12, 12), "M")
    assert (p.name_pinyin, p.name_initials, p.mobile, p.mobile_last4, p.email) == (
        "shantianfang", "stf", "+8613800138000", "8000", "shan@example.cn")
    assert p.id_number_bidx == crypto.blind_index(p.id_number, "customer.id_number")
    assert p.mobile_bidx == crypto.blind_index("+8613800138000", "customer.mobile")
    assert p.branch == bank.a and p.created_by == bank.supervisor_a and len(p.customer_no) == 11
    assert set(NameBigram.objects.filter(customer=p).values_list("bigram", flat=True)) == {"单田", "田芳"}
    assert ManagerAssignment.objects.get(customer=p).staff == bank.cm_a1
    c = Customer.objects.get(kind="company")
    assert (c.id_type, c.birth_date, c.gender) == ("uscc", None, "")
    ev = AuditEvent.objects.get(verb="customers.imported")
    assert ev.after["count"] == 2 and ev.after["batch"] == 1
    assert "138" not in str(ev.after) and "单田芳" not in str(ev.after)
    from bankcrm.customers import selectors

    assert list(selectors.search(bank.cm_a1, "田芳")) == [p] and list(selectors.search(bank.cm_a1, "stf")) == [p]


def test_bulk_refuses_what_registration_refuses(bank):
    registrar = bulk.BulkRegistrar(actor=bank.om_a1, source="test")
    number = ric(7)
    rows = [(2, bulk.as_input(name="张三", id_number=bad_check_digit(number))),
            (3, bulk.as_input(name="李四", id_number=number, mobile="12345")),
            (4, bulk.as_input(name="王五", id_number=number)),
            (5, bulk.as_input(name="赵六", id_number=number)),
            (6, bulk.as_input(name="", id_number=ric(8), email="bad@", id_type="驾照")),
            (7, bulk.as_input(name="坏代码公司", kind="企业", id_number=bad_check_digit(uscc()))),
            (8, bulk.as_input(name="孙七", id_number=ric(9), manager="NOPE"))]
    total, errors = bulk.register_rows(rows, registrar=registrar)
    got = {(e.row, e.code) for e in errors}
    assert total == 1 and Customer.objects.get().name == "王五"
    assert got == {(2, "id_checksum"), (3, "mobile_format"), (5, "duplicate_in_file"), (6, "name_required"),
                   (6, "id_type_invalid"), (6, "email_format"), (7, "uscc_checksum"), (8, "manager_invalid")}
    assert all(e.message for e in errors)


# ---- Import flow ------------------------------------------------------------------------------------------------------
def upload(actor, content: bytes, name: str = "customers.csv", **kw) -> CustomerImport:
    return imports.import_upload(actor=actor, file=SimpleUploadedFile(name, content), **kw)


def validate(imp: CustomerImport, actor) -> CustomerImport:
    imports.import_configure(actor=actor, import_id=imp.pk, mapping=imp.mapping)
    imports.validate_body(import_id=imp.pk)  # what the task runs after commit
    imp.refresh_from_db()
    return imp


def run(imp: CustomerImport, actor, mode: str = "good_rows") -> CustomerImport:
    validate(imp, actor)
    imports.import_start(actor=actor, import_id=imp.pk, mode=mode)
    imports.run_body(import_id=imp.pk)
    imp.refresh_from_db()
    return imp


def report_rows(imp: CustomerImport) -> list[list[str]]:
    with imp.error_report.open("rb") as fh:
        text = fh.read().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["行号", "字段", "错误代码", "原因"]
    return rows[1:]


def imported_numbers() -> list[str]:
    return sorted(c.id_number for c in Customer.objects.all())


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_in_utf8_and_gbk_imports_every_good_row_once(bank, encoding):
    rows = good_rows(12)
    imp = upload(bank.supervisor_a, to_csv(rows, encoding=encoding), default_manager_id=bank.cm_a1.pk)
    assert imp.encoding in ({"gbk": "gb18030"}.get(encoding, encoding), "utf-8-sig" if encoding == "utf-8-sig" else encoding)
    assert {f: imp.headers[i] for f, i in imp.mapping.items()} == {
        "name": "姓名", "id_type": "证件类型", "id_number": "证件号码", "mobile": "手机号码", "email": "电子邮箱", "address": "地址",
        "occupation": "职业", "kind": "客户类型"}
    imp = run(imp, bank.supervisor_a)
    assert (imp.status, imp.imported_rows, imp.error_rows, imp.total_rows, imp.progress) == ("done", 12, 0, 12, 100)
    assert imported_numbers() == sorted(r[2] for r in rows)
    first = Customer.objects.get(id_number_bidx=crypto.blind_index(rows[0][2], "customer.id_number"))
    assert (first.name, first.mobile, first.address) == ("张伟", "+8613812340000", "北京市朝阳区建国路1号")
    assert ManagerAssignment.objects.filter(staff=bank.cm_a1, role="primary").count() == 12
    assert not imp.file  # the plain-text file is gone once imported
    ev = AuditEvent.objects.filter(verb="customers.imported", target_id=str(imp.pk)).get()
    assert ev.after["count"] == 12 and ev.after["source"] == f"import:{imp.pk}"


def malformed_file(bank) -> tuple[bytes, dict[int, set[str]], list[str]]:
    """A file with every kind of bad row; returns (content, expected codes by row number, good id numbers)."""
    from bankcrm.customers import services

    existing = ric(500)
    services.customer_register(actor=bank.cm_a1, kind="person", name="老客户", id_type="resident_id", id_number=existing)
    good = good_rows(6)
    rows: list[list[str]] = [
        good[0],                                                                  # row 2
        ["坏校验", "居民身份证", bad_check_digit(ric(600)), "13812345678", "", "", "", "个人"],  # 3
        ["坏手机", "居民身份证", ric(601), "1381234", "", "", "", "个人"],                  # 4
        good[1],                                                                  # 5
        ["文件内重复", "居民身份证", good[0][2], "", "", "", "", "个人"],                  # 6
        ["库内重复", "居民身份证", existing, "", "", "", "", "个人"],                       # 7
        [],                                                                       # 8 blank line: skipped
        ["多列", "居民身份证", ric(602), "", "", "北京市", "朝阳区", "个人", "多出来的列"],     # 9
        good[2],                                                                  # 10
        ["坏邮箱", "居民身份证", ric(603), "", "not-an-email", "", "", "个人"],             # 11
        ["", "居民身份证", ric(604), "", "", "", "", "个人"],                              # 12
        ["坏企业", "统一社会信用代码", bad_check_digit(uscc()), "", "", "", "", "企业"],       # 13
        ["出生日期", "居民身份证", "11010519800230123X", "", "", "", "", "个人"],            # 14
        good[3], good[4], good[5],                                                # 15-17
        ["未知类型", "居民身份证", ric(605), "", "", "", "", "外星人"],                     # 18
    ]
    expected = {3: {"id_checksum"}, 4: {"mobile_format"}, 6: {"duplicate_in_file"}, 7: {"duplicate_existing"},
                9: {"row_columns"}, 11: {"email_format"}, 12: {"name_required"}, 13: {"uscc_checksum"},
                14: {"id_birth_date"}, 18: {"kind_invalid"}}
    return to_csv(rows), expected, [r[2] for r in good]


def test_every_bad_row_is_reported_with_row_number_and_reason_and_good_rows_imported_once(bank):
    content, expected, good = malformed_file(bank)
    before = set(imported_numbers())
    imp = validate(upload(bank.supervisor_a, content), bank.supervisor_a)
    assert (imp.status, imp.valid_rows, imp.error_rows, imp.duplicate_rows) == ("validated", 6, len(expected), 2)
    assert Customer.objects.count() == 1  # validation writes nothing
    imp = run(imp, bank.supervisor_a)
    reported: dict[int, set[str]] = {}
    for row, field_label, code, reason in report_rows(imp):
        reported.setdefault(int(row), set()).add(code)
        assert field_label and reason and not any(ch.isdigit() for ch in reason.replace("第", "").split("客户")[0][:0])
    assert reported == expected
    assert (imp.status, imp.imported_rows, imp.error_rows) == ("done", 6, len(expected))
    assert sorted(set(imported_numbers()) - before) == sorted(good)
    assert len(imported_numbers()) == len(set(imported_numbers()))
    sample = {(e["row"], e["code"]) for e in imp.error_sample}
    assert sample == {(r, c) for r, cs in expected.items() for c in cs}
    text = "".join(",".join(r) for r in report_rows(imp))
    assert not any(n in text for n in good + [ric(600), ric(601)])  # no personal data in the report
    write_figures("R15", True, bad_rows=len(expected), bad_rows_reported=len(reported), good_rows=len(good),
                  good_rows_imported_once=sum(imported_numbers().count(n) == 1 for n in good))


def test_all_or_nothing_imports_nothing_when_any_row_is_bad(bank):
    content, _expected, _good = malformed_file(bank)
    imp = validate(upload(bank.supervisor_a, content), bank.supervisor_a)
    with pytest.raises(RuleViolation) as e:
        imports.import_start(actor=bank.supervisor_a, import_id=imp.pk, mode="all_or_nothing")
    assert e.value.code == "import_has_errors"
    assert Customer.objects.count() == 1


def test_all_or_nothing_rejects_the_whole_file_when_a_row_went_bad_after_validation(bank):
    from bankcrm.customers import services

    rows = good_rows(8)
    imp = validate(upload(bank.supervisor_a, to_csv(rows)), bank.supervisor_a)
    assert imp.error_rows == 0
    imports.import_start(actor=bank.supervisor_a, import_id=imp.pk, mode="all_or_nothing")
    services.customer_register(actor=bank.cm_a1, kind="person", name="抢先", id_type="resident_id", id_number=rows[5][2])
    imports.run_body(import_id=imp.pk)
    imp.refresh_from_db()
    assert (imp.status, imp.imported_rows, imp.error_rows) == ("rejected", 0, 1)
    assert Customer.objects.count() == 1 and not AuditEvent.objects.filter(verb="customers.imported").exists()
    assert [(int(r[0]), r[2]) for r in report_rows(imp)] == [(7, "duplicate_existing")]
    write_figures("R15", True, all_or_nothing_rows_written_when_bad=0)


def test_all_or_nothing_imports_everything_when_every_row_is_good(bank):
    imp = run(upload(bank.supervisor_a, to_csv(good_rows(9))), bank.supervisor_a, mode="all_or_nothing")
    assert (imp.status, imp.imported_rows, Customer.objects.count()) == ("done", 9, 9)


def test_the_same_file_twice_creates_no_duplicates(bank):
    content = to_csv(good_rows(10))
    first = run(upload(bank.supervisor_a, content), bank.supervisor_a)
    second = validate(upload(bank.supervisor_a, content), bank.supervisor_a)
    assert (first.imported_rows, second.valid_rows, second.duplicate_rows) == (10, 0, 10)
    with pytest.raises(RuleViolation):
        imports.import_start(actor=bank.supervisor_a, import_id=second.pk, mode="good_rows")
    assert {r[2] for r in report_rows(second)} == {"duplicate_existing"}
    assert Customer.objects.count() == 10
    imports.run_body(import_id=first.pk)  # running a finished task again changes nothing
    assert Customer.objects.count() == 10
    write_figures("R15", True, second_import_new_customers=0, second_import_duplicates_reported=second.duplicate_rows)


class NoRead(io.BytesIO):
    """An upload that must be refused from its size alone: reading it fails the test."""

    def read(self, *a):
        raise AssertionError("the file was read")


@pytest.mark.parametrize("content,name,code", [
    (b"", "empty.csv", "import_empty"),
    (b"\r\n\r\n", "blank.csv", "import_empty"),
    ("姓名,证件号码\n".encode(), "header-only.csv", "import_empty"),
    (b"\x80\x81\xff\xfe\xff,\x80\xff\n\xff\x80,\x81\xff\n", "mojibake.csv", "import_encoding"),
    (b"\x00\x01\x02binary\x00", "binary.csv", "import_encoding"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1old excel", "old.xls", "import_format"),
    (b"PK\x03\x04broken zip", "broken.xlsx", "import_format"),
    ("姓名,证件号码\n张三,1\n".encode(), "customers.pdf", "import_format"),
])
def test_bad_files_are_refused_with_stable_codes(bank, content, name, code):
    with pytest.raises(ValidationFailed) as e:
        upload(bank.supervisor_a, content, name=name)
    assert e.value.code == code and e.value.message
    assert not CustomerImport.objects.exists()


def test_oversize_file_is_refused_before_it_is_read(bank, settings):
    f = SimpleUploadedFile("big.csv", b"")
    f.file, f.size = NoRead(), 100 * 1024 * 1024 + 1
    with pytest.raises(ValidationFailed) as e:
        imports.import_upload(actor=bank.supervisor_a, file=f)
    assert e.value.code == "import_too_large"
    settings.BANKCRM_IMPORT_MAX_BYTES = 4096
    client = login_client(bank.supervisor_a)
    big = to_csv(good_rows(150))
    assert len(big * 8) > 4096 + 64 * 1024
    r = client.post(reverse("customers:import_list"), {"file": SimpleUploadedFile("big.csv", big * 8)})
    assert r.status_code == 400 and "文件过大" in r.content.decode()
    api = login_client(bank.supervisor_a)
    r = api.post(reverse("api-customer-imports"), {"file": SimpleUploadedFile("big.csv", big * 8)})
    assert r.status_code == 400 and r.json()["error"]["code"] == "import_too_large"
    assert not CustomerImport.objects.exists()
    write_figures("R15", True, oversize_bytes_read=0)


def test_a_file_mixing_encodings_is_refused_or_its_odd_rows_reported(bank):
    tail = f"坏编码,居民身份证,{ric(700)},,,,,个人\r\n".encode("gbk")
    with pytest.raises(ValidationFailed) as e:  # small: the whole file is the sample, and it is neither encoding
        upload(bank.supervisor_a, to_csv(good_rows(3)) + tail)
    assert e.value.code == "import_encoding"
    head = to_csv(good_rows(1000))  # beyond the 64 KB sample: the odd row is reported, never imported garbled
    imp = validate(upload(bank.supervisor_a, head + tail), bank.supervisor_a)
    assert (imp.encoding, imp.valid_rows, imp.error_rows) == ("utf-8", 1000, 1)
    assert [(int(r[0]), r[2]) for r in report_rows(imp)] == [(1002, "row_encoding")]


def test_excel_files_import_and_numbers_typed_as_numbers_are_reported(bank):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["客户名称", "证件号码", "手机", "客户类型"])
    ws.append(["北京华信科技有限公司", "91110000600037341L", "13812345678", "企业"])
    ws.append(["张伟", ric(800), 13812345679, "个人"])
    ws.append(["王芳", 1.1010519800101e17, "", "个人"])  # an ID number typed as a number: digits lost
    buf = io.BytesIO()
    wb.save(buf)
    imp = run(upload(bank.supervisor_a, buf.getvalue(), name="客户.xlsx"), bank.supervisor_a)
    assert (imp.file_format, imp.imported_rows, imp.error_rows) == ("xlsx", 2, 1)
    assert [(int(r[0]), r[1]) for r in report_rows(imp)] == [(4, "证件号码")]
    assert Customer.objects.get(name="张伟").mobile == "+8613812345679"


# ---- Capability and scope ---------------------------------------------------------------------------------------------
def test_customer_managers_cannot_import_and_other_branches_cannot_see(bank):
    with pytest.raises(PermissionDenied):
        upload(bank.cm_a1, to_csv(good_rows(2)))
    imp = upload(bank.supervisor_a, to_csv(good_rows(2)))
    assert list(imports.imports_visible(bank.supervisor_a)) == [imp]
    assert not imports.imports_visible(bank.supervisor_b).exists() and not imports.imports_visible(bank.cm_a1).exists()
    with pytest.raises(NotFound):
        imports.import_get(bank.supervisor_b, imp.pk)
    with pytest.raises(NotFound):
        imports.import_configure(actor=bank.supervisor_b, import_id=imp.pk, mapping=imp.mapping)
    b = login_client(bank.supervisor_b)
    for name in ("customers:import_detail", "customers:import_progress", "customers:import_errors"):
        assert b.get(reverse(name, args=[imp.pk])).status_code == 404
    assert b.post(reverse("customers:import_start", args=[imp.pk]), {"mode": "good_rows"}).status_code == 404
    assert b.get(reverse("api-customer-import", args=[imp.pk])).status_code == 404
    assert b.get(reverse("api-customer-imports")).json() == []
    cm = login_client(bank.cm_a1)
    assert cm.get(reverse("customers:import_list")).status_code == 403
    assert cm.post(reverse("api-customer-imports"), {"file": SimpleUploadedFile("a.csv", to_csv(good_rows(1)))}).status_code == 403
    assert CustomerImport.objects.count() == 1 and Customer.objects.count() == 0
    write_figures("R15", True, foreign_import_access=0)


def test_html_flow_upload_map_validate_start_progress_report(bank, django_capture_on_commit_callbacks):
    content, expected, good = malformed_file(bank)
    client = login_client(bank.om_a1)
    r = client.post(reverse("customers:import_list"), {"file": SimpleUploadedFile("客户名单.csv", content)})
    assert r.status_code == 302
    imp = CustomerImport.objects.get()
    page = client.get(r["Location"]).content.decode()
    assert "证件号码" in page and good[0] not in page  # preview masks identity numbers
    data = {f: str(i) for f, i in imp.mapping.items()}
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(reverse("customers:import_map", args=[imp.pk]), data)
    assert r.status_code == 302
    imp.refresh_from_db()
    assert imp.status == "validated" and imp.error_rows == len(expected)
    r = client.post(reverse("customers:import_start", args=[imp.pk]), {"mode": "all_or_nothing"})
    assert r.status_code == 400 and "全部正确才导入" in r.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(reverse("customers:import_start", args=[imp.pk]), {"mode": "good_rows"})
    imp.refresh_from_db()
    assert imp.status == "done" and imp.imported_rows == len(good)
    r = client.get(reverse("customers:import_progress", args=[imp.pk]), HTTP_HX_REQUEST="true")
    assert r.status_code == 200 and r["HX-Refresh"] == "true"
    r = client.get(reverse("customers:import_errors", args=[imp.pk]))
    rows = list(csv.reader(io.StringIO(b"".join(r.streaming_content).decode("utf-8-sig"))))
    assert {int(x[0]) for x in rows[1:]} == set(expected)
    detail = client.get(reverse("customers:import_detail", args=[imp.pk])).content.decode()
    assert "下载错误报告" in detail and "身份证号码校验位错误" in detail


def test_api_import_and_progress(bank, django_capture_on_commit_callbacks):
    client = login_client(bank.supervisor_a)
    rows = good_rows(5)
    content = to_csv([[r[0], r[2], r[3]] for r in rows], header=["姓名", "身份证号", "联系电话"])
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(reverse("api-customer-imports"), {"file": SimpleUploadedFile("a.csv", content), "mode": "all_or_nothing"})
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["mapping"] == {"name": 0, "id_number": 1, "mobile": 2}
    got = client.get(reverse("api-customer-import", args=[body["id"]])).json()
    assert (got["status"], got["imported_rows"], got["progress"], got["errors"]) == ("done", 5, 100, [])
    r = client.post(reverse("api-customer-imports"), {"file": SimpleUploadedFile("a.csv", content), "mapping": '{"name": 0}'})
    assert r.status_code == 400 and r.json()["error"]["code"] == "mapping_required"
    r = client.post(reverse("api-customer-imports"), {"file": SimpleUploadedFile("e.csv", b"")})
    assert r.status_code == 400


def test_bulk_customer_numbers_equal_the_registration_rule():
    from bankcrm.customers import rules

    for value in [*range(0, 2000), 123456789, 999999999, 500000001]:
        assert bulk.customer_no(value) == rules.customer_no_from_sequence(value)


def test_seed_demo_customers_option(bank):
    from django.core.management import call_command

    before = Customer.objects.count()
    call_command("seed_demo", customers=300, quiet=True)  # an existing bank gets only the extra customers
    added = Customer.objects.exclude(pk__in=[]).count() - before
    assert added == 300
    assert ManagerAssignment.objects.filter(role="primary", ended_at__isnull=True).count() == added
    assert AuditEvent.objects.filter(verb="customers.imported").exists()


class Killed(BaseException):
    """Stands for the worker process being killed: not an Exception, so nothing marks the import failed."""


def test_a_killed_good_rows_import_resumes_after_its_last_committed_batch(bank, monkeypatch):
    rows = good_rows(10)
    rows.insert(4, ["坏手机", "居民身份证", ric(900), "1381234", "", "", "", "个人"])  # file row 6
    imp = validate(upload(bank.supervisor_a, to_csv(rows)), bank.supervisor_a)
    imports.import_start(actor=bank.supervisor_a, import_id=imp.pk, mode="good_rows")
    monkeypatch.setattr(bulk, "BATCH_SIZE", 3)
    real_write, calls = bulk.BulkRegistrar.write_batch, []

    def dying_write(self, screened):
        calls.append(len(screened))
        if len(calls) == 3:
            raise Killed
        return real_write(self, screened)

    monkeypatch.setattr(bulk.BulkRegistrar, "write_batch", dying_write)
    with pytest.raises(Killed):
        imports.run_body(import_id=imp.pk)
    imp.refresh_from_db()
    assert (imp.status, imp.imported_rows, imp.last_row) == ("running", 5, 7)  # batches 1-2 committed: rows 2-7
    monkeypatch.setattr(bulk.BulkRegistrar, "write_batch", real_write)
    imports.run_body(import_id=imp.pk)  # the task runs again
    imp.refresh_from_db()
    assert (imp.status, imp.imported_rows, imp.error_rows) == ("done", 10, 1)
    assert imported_numbers() == sorted(r[2] for r in rows if r[0] != "坏手机")
    assert [(int(r[0]), r[2]) for r in report_rows(imp)] == [(6, "mobile_format")]
    assert sum(e.after["count"] for e in AuditEvent.objects.filter(verb="customers.imported")) == 10
    write_figures("R15", True, resumed_import_duplicates=0)


def test_the_column_mapping_speaks_the_readers_language(bank):
    from django.conf import settings

    content, _expected, _good = malformed_file(bank)
    client = login_client(bank.om_a1)
    r = client.post(reverse("customers:import_list"), {"file": SimpleUploadedFile("客户名单.csv", content)})
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get(r["Location"]).content.decode()
    import re

    label = re.search(r'<label[^>]*for="id_id_number"[^>]*>\s*([^<]+)', page)
    assert label and label.group(1).strip().startswith("ID number"), "mapping labels must follow the page language"
