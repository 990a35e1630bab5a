"""Watch-list screening (issue #5): normalisation and scoring (pure, with properties), CSV import with malformed rows
and versions, screening of customers (exact, pinyin, one edit, birth dates), dedupe, the nightly run killed and
resumed (R14), and authorization of the pages and the API."""

from __future__ import annotations

import random
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bankcrm.core.errors import PermissionDenied, ValidationFailed
from bankcrm.core.models import AuditEvent
from bankcrm.customers import services as customer_services
from bankcrm.risk import rules_screening as rs
from bankcrm.risk import watchlist as wlsvc
from bankcrm.risk.models import Alert, BatchRun, WatchList, WatchListEntry
from tests.conftest import login_client, write_figures
from tests.ledger_helpers import ric

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
HANZI = st.sampled_from(list("张王李赵钱孙周吴郑冯陈褚卫蒋沈韩杨朱秦许何吕施三丰峰山龙小明华国强伟芳娜敏静丽單張豐"))
names = st.one_of(st.text(HANZI, min_size=1, max_size=5),
                  st.lists(st.text("abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=6), min_size=1, max_size=4)
                  .map(" ".join))
births = st.one_of(st.none(), st.dates(min_value=date(1930, 1, 1), max_value=date(2005, 12, 31)))


# ---- Pure rules -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("raw,key", [
    ("张三丰", "张三丰"), (" 张 三\u3000丰 ", "张三丰"), ("阿卜杜·热合曼", "阿卜杜热合曼"), ("阿卜杜・热合曼", "阿卜杜热合曼"),
    ("ＺＨＡＮＧ　Ｓａｎ－Ｆｅｎｇ", "fengsanzhang"), ("Zhang San Feng", "fengsanzhang"), ("feng, SAN zhang.", "fengsanzhang"),
    ("José  Martí", "josemarti"), ("（张三丰）", "张三丰"), ("", ""),
])
def test_name_key_normalises(raw, key):
    assert rs.name_key(raw) == key


@pytest.mark.parametrize("a,b,how", [
    ("张三丰", "张 三·丰", rs.EXACT),
    ("ZHANG San Feng", "feng san zhang", rs.EXACT),          # latin: case and word order ignored
    ("张三丰", "zhang san feng", rs.PINYIN),
    ("张三丰", "Sanfeng ZHANG", rs.PINYIN),
    ("張三豐", "张三丰", rs.PINYIN),                           # no traditional→simplified package: pinyin carries it
    ("张三峰", "张三丰", rs.PINYIN),                           # 峰 and 丰 both read feng
    ("张山丰", "张三丰", rs.EDIT1),
    ("John Smith", "Smyth John", rs.EDIT1),
    ("单田芳", "Shan Tianfang", rs.PINYIN),                    # surname reading from the customers app
])
def test_score_examples(a, b, how):
    m = rs.score_names(a, b)
    assert m is not None and m.how == how and m.score == rs.SCORES[how]


def test_score_rejects():
    assert rs.score_names("张三", "张四") is None                       # one edit, but shorter than 3
    assert rs.score_names("张三丰", "李四光") is None
    assert rs.score_names("张三丰", "张三丰", date(1948, 3, 15), date(1948, 3, 16)) is None
    m = rs.score_names("张三丰", "张三丰", date(1948, 3, 15), None)
    assert m.score == 100 and m.birth_date_match is False
    assert rs.score_names("张三丰", "张三丰", date(1948, 3, 15), date(1948, 3, 15)).birth_date_match is True
    assert rs.score_names("...", "...") is None


@FAST
@given(names, names, births, births)
def test_score_is_symmetric(a, b, da, db):
    assert rs.score_names(a, b, da, db) == rs.score_names(b, a, db, da)


@FAST
@given(names, births)
def test_exact_match_is_always_100(a, d):
    m = rs.score_names(a, a, d, d)
    assert m is not None and m.score == 100 and m.how == rs.EXACT


@FAST
@given(names, names, births, births)
def test_different_birth_dates_never_match(a, b, da, db):
    if da and db and da != db:
        assert rs.score_names(a, b, da, db) is None


def _levenshtein(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


keys = st.text("abc张三丰", min_size=0, max_size=9)


@FAST
@given(keys, keys)
def test_within_one_edit_agrees_with_levenshtein(a, b):
    assert rs.within_one_edit(a, b) == (_levenshtein(a, b) <= 1)


@FAST
@given(keys, st.data())
def test_edit_keys_find_every_key_within_one_edit(a, data):
    """The indexed candidate keys are complete: any stored key one edit away shares a piece-pair key."""
    op = data.draw(st.sampled_from(["sub", "ins", "del"]))
    pos = data.draw(st.integers(0, len(a)))
    ch = data.draw(st.sampled_from("abc张三丰x"))
    b = {"sub": a[:pos] + ch + a[pos + 1:], "ins": a[:pos] + ch + a[pos:], "del": a[:pos] + a[pos + 1:]}[op]
    if min(len(a), len(b)) < 3:
        return
    probes, stored = rs.probe_edit_keys(a), rs.edit_keys(b)
    assert any(stored[i] in probes[i] for i in range(3))


# ---- Helpers --------------------------------------------------------------------------------------------------------
def _csv(*lines: str, bom: bool = False) -> bytes:
    return (("\ufeff" if bom else "") + "\n".join(lines) + "\n").encode("utf-8")


def _register(bank, name: str, born: str, seq: str, branch=None):
    branch = branch or bank.a1
    cm = bank.cm_a1 if branch == bank.a1 else bank.cm_b1
    return customer_services.customer_register(actor=cm, kind="person", name=name, id_type="resident_id",
                                               id_number=ric(born, seq), mobile="13812345678", branch_id=branch.pk)


def _import(bank, capture, name="PEP-2025", kind="pep", data=b"", actor=None):
    with capture(execute=True):
        return wlsvc.watchlist_import(actor=actor or bank.risk, name=name, kind=kind, source="测试来源", file_bytes=data)


@pytest.fixture
def zhang(bank):
    return _register(bank, "张三丰", "19480315", "031")


# ---- Import ---------------------------------------------------------------------------------------------------------
def test_import_reports_bad_rows_and_imports_good_rows_once(bank, django_capture_on_commit_callbacks):
    data = _csv("name,birth_date,country,note",
                "张三丰,1948-03-15,CHN,某部门",        # 2 ok
                ",1950-01-01,,",                        # 3 empty name
                "李四光,1889-13-40,,",                  # 4 bad date
                "王五,15/03/1948,,",                    # 5 bad date format
                "",                                     # blank line: skipped, not an error
                "赵六,,CHINA,",                         # 7 bad country
                "张 三·丰,1948-03-15,CHN,重复",        # 8 duplicate of row 2
                "Zhang San Feng,,,",                    # 9 ok
                "钱七", bom=True)                       # 10 ok (short row)
    wl = _import(bank, django_capture_on_commit_callbacks, data=data)
    assert (wl.entries_count, wl.rejected_rows, wl.rows_total, wl.version) == (3, 5, 8, 1)
    assert [(e["row"], e["code"]) for e in wl.errors] == [
        (3, "empty_name"), (4, "bad_date"), (5, "bad_date"), (7, "bad_country"), (8, "duplicate_row")]
    assert "第2行" in wl.errors[-1]["message"]
    entries = list(WatchListEntry.objects.filter(watch_list=wl).order_by("row_no"))
    assert [(e.row_no, e.name, e.name_key, e.name_pinyin) for e in entries] == [
        (2, "张三丰", "张三丰", "zhangsanfeng"), (9, "Zhang San Feng", "fengsanzhang", "zhangsanfeng"),
        (10, "钱七", "钱七", "qianqi")]
    assert entries[0].birth_date == date(1948, 3, 15) and entries[0].country == "CHN"
    ev = AuditEvent.objects.filter(verb="risk.watchlist_imported")
    assert ev.count() == 1 and ev.get().after["entries"] == 3 and ev.get().after["rejected_rows"] == 5
    assert wl.screened_at is None and WatchList.objects.get(pk=wl.pk).screened_at is not None  # screened after commit


@pytest.mark.parametrize("data,code", [
    (b"", "watchlist_empty_file"),
    (b"  \n", "watchlist_empty_file"),
    ("name\n张三丰\n".encode("gbk"), "watchlist_encoding"),
    (b"name,birth_date\n", "watchlist_no_rows"),
    (_csv("full_name", "张三丰"), "watchlist_header"),
    (_csv("name,birth_date", ",1948-01-01", "x,1948-02-30"), "watchlist_no_valid_rows"),
    (b"name\n\"a\x00b\n", "watchlist_bad_csv"),
])
def test_unreadable_files_are_refused_whole(bank, data, code):
    with pytest.raises(ValidationFailed) as exc:
        wlsvc.watchlist_import(actor=bank.risk, name="L", kind="sanctions", file_bytes=data)
    assert exc.value.code == code and exc.value.message
    assert not WatchList.objects.exists() and not WatchListEntry.objects.exists()


def test_reimport_makes_a_new_version_without_duplicates_or_new_alerts(bank, zhang, django_capture_on_commit_callbacks):
    data = _csv("name,birth_date", "张三丰,1948-03-15", "李四光,1889-10-26")
    v1 = _import(bank, django_capture_on_commit_callbacks, data=data)
    assert Alert.objects.filter(customer=zhang).count() == 1
    v2 = _import(bank, django_capture_on_commit_callbacks, data=data)
    v1.refresh_from_db()
    assert (v2.version, v2.entries_count, v2.active, v1.active) == (2, 2, True, False)
    assert WatchListEntry.objects.filter(watch_list=v2).count() == 2
    first = WatchListEntry.objects.get(watch_list=v1, name="张三丰")
    assert WatchListEntry.objects.get(watch_list=v2, name="张三丰").origin_id == first.pk
    assert Alert.objects.filter(customer=zhang).count() == 1          # same person, same alert
    assert wlsvc.screen_customers([zhang.pk]) == 0


def test_import_needs_the_capability(bank):
    with pytest.raises(PermissionDenied):
        wlsvc.watchlist_import(actor=bank.cm_a1, name="L", kind="pep", file_bytes=_csv("name", "张三丰"))


# ---- Screening ------------------------------------------------------------------------------------------------------
def test_screening_scores_exact_pinyin_and_one_edit(bank, zhang, django_capture_on_commit_callbacks):
    other = _register(bank, "王五", "19900101", "013", branch=bank.b1)
    data = _csv("name,birth_date,country",
                "张三丰,1948-03-15,CHN",     # exact, same birth date: 100
                "張三豐,1948-03-15,",        # traditional: 90 through pinyin (no converter installed)
                "zhang san feng,,",          # latin entry through pinyin: 90
                "张山丰,,",                  # one edit: 80
                "张三峰,,",                  # 峰 reads feng: same pinyin, 90
                "张三丰,1950-01-01,",        # birth dates differ: dropped
                "张山峰,1948-03-15,",        # two edits, other pinyin: no match
                "李四,,")
    wl = _import(bank, django_capture_on_commit_callbacks, data=data)
    alerts = {a.figures["entry_name"]: a for a in Alert.objects.filter(customer=zhang)}
    assert {k: (a.figures["score"], a.figures["match"]) for k, a in alerts.items()} == {
        "张三丰": (100, "exact_name"), "張三豐": (90, "pinyin"), "zhang san feng": (90, "pinyin"),
        "张山丰": (80, "edit_distance_1"), "张三峰": (90, "pinyin")}
    a = alerts["张三丰"]
    entry = WatchListEntry.objects.get(watch_list=wl, name="张三丰", birth_date=date(1948, 3, 15))
    assert a.dedupe_key == f"WL:{entry.pk}:{zhang.pk}" and a.rule_code == "WL-PEP" and a.kind == "watchlist"
    assert a.report_kind == "suspicious" and a.branch_path == zhang.branch.path and a.due_on is None
    assert a.figures["birth_date_match"] is True and alerts["zhang san feng"].figures["birth_date_match"] is False
    assert a.figures["list_kind"] == "pep" and a.figures["list"] == "PEP-2025" and a.source == wlsvc.SOURCE
    assert not Alert.objects.filter(customer=other).exists()
    # Screening again (onboarding hook, nightly run) raises nothing new.
    assert wlsvc.screen_customers([zhang.pk, other.pk]) == 0
    run = wlsvc.screen_all(date.today())
    assert run.status == BatchRun.Status.DONE and run.changes == 0 and Alert.objects.count() == 5


def test_list_kind_gives_the_rule_code_and_new_customers_are_screened(bank, django_capture_on_commit_callbacks):
    _import(bank, django_capture_on_commit_callbacks, name="OFAC", kind="sanctions", data=_csv("name", "Sanfeng ZHANG"))
    _import(bank, django_capture_on_commit_callbacks, name="内部", kind="internal", data=_csv("name", "李小龙"))
    assert not Alert.objects.exists()
    zhang = _register(bank, "张三丰", "19480315", "031")
    li = _register(bank, "李小龙", "19850101", "012")
    assert wlsvc.on_customers_registered([zhang.pk, li.pk]) == 2
    assert Alert.objects.get(customer=zhang).rule_code == "WL-SAN"
    assert Alert.objects.get(customer=li).rule_code == "WL-INT"
    assert wlsvc.on_customers_changed([zhang.pk, li.pk]) == 0


# ---- R14: nightly screening killed and resumed ----------------------------------------------------------------------
SURNAMES = "张王李赵钱孙周吴"
GIVEN = ["三丰", "小明", "建国", "丽华", "志强", "秀英", "文", "伟"]


class Killed(Exception):
    pass


def test_r14_nightly_screening_killed_and_resumed(bank, monkeypatch, django_capture_on_commit_callbacks):
    rnd = random.Random(14)
    people = []
    for i in range(40):
        name = rnd.choice(SURNAMES) + rnd.choice(GIVEN)
        born = f"19{rnd.randint(40, 99)}0{rnd.randint(1, 9)}1{rnd.randint(0, 9)}"
        people.append(_register(bank, name, born, f"{i + 100:03d}", branch=rnd.choice([bank.a1, bank.b1])))
    lines = ["name,birth_date"]
    for p in rnd.sample(people, 15):
        variant = rnd.choice(["same", "latin", "edit", "otherbirth", "nobirth"])
        if variant == "latin":
            lines.append(f"{' '.join(rs._units(p.name)).upper()},")
        elif variant == "edit":
            lines.append(f"{p.name[:-1]}鑫{p.name[-1]},{p.birth_date}")
        elif variant == "otherbirth":
            lines.append(f"{p.name},1901-01-01")
        else:
            lines.append(f"{p.name},{p.birth_date if variant == 'same' else ''}")
    lines = list(dict.fromkeys(lines))
    with monkeypatch.context() as m:
        m.setattr(wlsvc.transaction, "on_commit", lambda f, *a, **k: None)  # no screening at import
        wl = wlsvc.watchlist_import(actor=bank.risk, name="PEP", kind="pep", file_bytes=_csv(*lines))
    # Oracle: every customer × every entry through the pure score.
    entries = list(WatchListEntry.objects.filter(watch_list=wl))
    expected = {}
    for c in people:
        for e in entries:
            m = rs.score_names(c.name, e.name, c.birth_date, e.birth_date)
            if m:
                expected[f"WL:{e.pk}:{c.pk}"] = m.score
    monkeypatch.setattr(wlsvc, "CHUNK", 3)
    real = wlsvc._nightly_chunk
    calls = {"n": 0}
    kills = 0

    def flaky(ids, day):
        calls["n"] += 1
        changed = real(ids, day)
        if calls["n"] % 4 == 0:
            raise Killed  # after the chunk's work, before its checkpoint: the chunk's alerts roll back with it
        return changed

    monkeypatch.setattr(wlsvc, "_nightly_chunk", flaky)
    day = date(2025, 6, 30)
    while True:
        try:
            run = wlsvc.screen_all(day)
            break
        except Killed:
            kills += 1
    got = {a.dedupe_key: a.figures["score"] for a in Alert.objects.filter(kind="watchlist")}
    assert run.status == BatchRun.Status.DONE and run.items == len(people)
    assert kills >= 3 and got == expected and len(expected) >= 10
    monkeypatch.setattr(wlsvc, "_nightly_chunk", real)
    again = wlsvc.screen_all(day, force=True)
    assert again.changes == 0 and Alert.objects.filter(kind="watchlist").count() == len(expected)
    write_figures("R14", got == expected and again.changes == 0, screening_customers=len(people),
                  screening_entries=len(entries), screening_kills=kills, screening_alerts=len(got),
                  screening_diff_vs_oracle=len(set(got.items()) ^ set(expected.items())),
                  screening_second_run_changes=again.changes)


# ---- Pages and API --------------------------------------------------------------------------------------------------
def test_pages_import_list_and_detail(bank, zhang, django_capture_on_commit_callbacks):
    from django.core.files.uploadedfile import SimpleUploadedFile

    c = login_client(bank.risk)
    r = c.get("/risk/watchlists/")
    assert r.status_code == 200 and "监控名单" in r.content.decode()
    f = SimpleUploadedFile("pep.csv", _csv("name,birth_date", "张三丰,1948-03-15", ",x"), content_type="text/csv")
    with django_capture_on_commit_callbacks(execute=True):
        r = c.post("/risk/watchlists/", {"name": "PEP", "kind": "pep", "source": "", "file": f})
    assert r.status_code == 302
    wl = WatchList.objects.get(name="PEP")
    page = c.get(r["Location"]).content.decode()
    assert "empty_name" in page and zhang.customer_no in page and "张三丰" in page
    bad = SimpleUploadedFile("bad.csv", "name\n张三\n".encode("gbk"), content_type="text/csv")
    r = c.post("/risk/watchlists/", {"name": "X", "kind": "pep", "file": bad})
    assert r.status_code == 400 and "watchlist_encoding" in r.content.decode()
    assert c.get(f"/risk/watchlists/{wl.pk}/?page=2").status_code == 200
    assert c.get("/risk/watchlists/999999/").status_code == 404


def test_api_import_and_detail(bank, zhang, django_capture_on_commit_callbacks):
    from django.core.files.uploadedfile import SimpleUploadedFile

    c = login_client(bank.compliance)
    f = SimpleUploadedFile("s.csv", _csv("name,birth_date", "Zhang San Feng,1948-03-15", "李四,1990-02-30"))
    with django_capture_on_commit_callbacks(execute=True):
        r = c.post("/api/v1/risk/watchlists/", {"name": "UN", "kind": "sanctions", "file": f})
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["entries_count"] == 1 and body["row_errors"][0]["row"] == 3 and body["row_errors"][0]["code"] == "bad_date"
    assert body["version"] == 1 and body["kind"] == "sanctions"
    assert c.get("/api/v1/risk/watchlists/").json()[0]["name"] == "UN"
    detail = c.get(f"/api/v1/risk/watchlists/{body['id']}/").json()   # screened after the import's commit
    assert detail["entries"][0]["name"] == "Zhang San Feng" and detail["hits"] == 1 and detail["screened_at"]
    r = c.post("/api/v1/risk/watchlists/", {"name": "UN", "kind": "sanctions",
                                             "file": SimpleUploadedFile("e.csv", b"")})
    assert r.status_code == 400


def test_without_the_capability_pages_and_api_are_403(bank, django_capture_on_commit_callbacks):
    wl = _import(bank, django_capture_on_commit_callbacks, data=_csv("name", "张三丰"))
    from django.core.files.uploadedfile import SimpleUploadedFile

    for staff in (bank.cm_a1, bank.supervisor_a, bank.om_a1):
        c = login_client(staff)
        assert c.get("/risk/watchlists/").status_code == 403
        assert c.get(f"/risk/watchlists/{wl.pk}/").status_code == 403
        assert c.post("/risk/watchlists/", {"name": "X", "kind": "pep"}).status_code == 403
        assert c.get("/api/v1/risk/watchlists/").status_code == 403
        assert c.get(f"/api/v1/risk/watchlists/{wl.pk}/").status_code == 403
        f = SimpleUploadedFile("x.csv", _csv("name", "王五"))
        assert c.post("/api/v1/risk/watchlists/", {"name": "X", "kind": "pep", "file": f}).status_code == 403
    assert WatchList.objects.count() == 1


def test_hits_are_scoped_to_the_viewer(bank, zhang, django_capture_on_commit_callbacks):
    wang = _register(bank, "王五", "19900101", "013", branch=bank.b1)
    wl = _import(bank, django_capture_on_commit_callbacks, data=_csv("name", "张三丰", "王五"))
    assert wlsvc.list_hits(bank.risk, wl).count() == 2
    assert [a.customer_id for a in wlsvc.list_hits(bank.branch_risk, wl)] == [zhang.pk]  # branch A only
    assert wang.pk not in [a.customer_id for a in wlsvc.list_hits(bank.branch_risk, wl)]


def test_oversized_file_is_refused(bank, monkeypatch):
    monkeypatch.setattr(wlsvc, "MAX_FILE_BYTES", 10)
    with pytest.raises(ValidationFailed) as exc:
        wlsvc.watchlist_import(actor=bank.risk, name="L", kind="pep", file_bytes=_csv("name", "张三丰", "李四光"))
    assert exc.value.code == "watchlist_file_too_large"
