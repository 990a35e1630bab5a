"""Pure rules, property-tested with Hypothesis: identifiers, masking, money, working days, the shipped holiday file,
and rule parameters at effective dates.

Each invariant is written as a small *detector* (a function returning what is wrong with an implementation) so that
it can be run against the real code (must find nothing) and against a deliberately broken variant (must find
something): a test that cannot fail proves nothing (QUALITY.md).
"""

from __future__ import annotations

import csv
import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from bankcrm.core import identifiers, masking, money, workdays
from bankcrm.core.errors import ValidationFailed
from bankcrm.core.identifiers import IdentifierError

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# ---- Resident identity card number (GB 11643-1999, ISO 7064 MOD 11-2) -------------------------------------------


def reference_check_char(first17: str) -> str:
    """Written from the standard, independently of the implementation: a_18 = (12 - (Σ a_i·2^(18-i) mod 11)) mod 11."""
    total = sum(int(c) * pow(2, 17 - i, 11) for i, c in enumerate(first17))
    v = (12 - total % 11) % 11
    return "X" if v == 10 else str(v)


regions = st.one_of(
    st.sampled_from(["110105", "310115", "440305", "510107", "810000", "820000", "830000"]),
    st.from_regex(r"\A[1-8][0-9]{5}\Z", fullmatch=True),
)
births = st.dates(min_value=date(1880, 1, 1), max_value=date(2024, 12, 31))
sequences = st.integers(min_value=0, max_value=999)


@st.composite
def resident_ids(draw) -> str:
    first17 = f"{draw(regions)}{draw(births):%Y%m%d}{draw(sequences):03d}"
    return first17 + reference_check_char(first17)


def accepts(number: str) -> bool:
    try:
        identifiers.parse_resident_id(number, today=date(2025, 1, 1))
    except IdentifierError:
        return False
    return True


def single_char_mutants(number: str, alphabet: str) -> list[str]:
    return [number[:i] + c + number[i + 1:] for i in range(len(number)) for c in alphabet if c != number[i]]


def test_ric_sample_and_derivations():
    rid = identifiers.parse_resident_id("11010519491231002X")
    assert (rid.birth_date, rid.gender, rid.region) == (date(1949, 12, 31), "F", "110105")
    lower = identifiers.parse_resident_id("11010519491231002x ")
    assert lower.number == "11010519491231002X"
    # the 17th digit decides the gender: odd = male
    male17 = "11010519491231001"
    assert identifiers.parse_resident_id(male17 + reference_check_char(male17)).gender == "M"
    assert identifiers.ric_check_char("11010519491231002") == "X" == reference_check_char("11010519491231002")


@pytest.mark.parametrize(("number", "code"), [
    ("11010519491231002", "id_length"),
    ("11010519491231002XX", "id_length"),
    ("1101051949123100AX", "id_format"),
    ("110105194902300021", "id_birth_date"),   # 30 February
    ("110105209912310021", "id_birth_date"),   # in the future
    ("110105187912310021", "id_birth_date"),   # before 1880
    ("110105194912310021", "id_checksum"),
])
def test_ric_rejections_name_their_reason(number, code):
    with pytest.raises(IdentifierError) as exc:
        identifiers.parse_resident_id(number, today=date(2025, 1, 1))
    assert exc.value.code == code
    assert re.search(r"[\u4e00-\u9fff]", str(exc.value.message)), "messages are Chinese"


@FAST
@given(resident_ids())
@example("11010519491231002X")
def test_ric_valid_ids_accepted_with_derived_fields(number):
    rid = identifiers.parse_resident_id(number, today=date(2025, 1, 1))
    assert rid.birth_date == date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    assert rid.gender == ("M" if int(number[16]) % 2 else "F")
    assert rid.region == number[:6]


@settings(max_examples=40, deadline=None)
@given(resident_ids())
def test_ric_every_single_character_change_is_rejected(number):
    accepted = [m for m in single_char_mutants(number, "0123456789X") if accepts(m)]
    assert accepted == []


@FAST
@given(st.sampled_from(["810000", "820000", "830000"]), st.dates(min_value=date(1880, 1, 1), max_value=date(1899, 12, 31)),
       sequences)
def test_ric_hk_macau_taiwan_prefixes_and_19th_century_births(prefix, born, seq):
    first17 = f"{prefix}{born:%Y%m%d}{seq:03d}"
    assert accepts(first17 + reference_check_char(first17))


def test_ric_detector_catches_a_broken_check():
    """The mutation detector used above finds a validator that ignores the check digit."""
    def broken(number: str) -> bool:
        return len(number) == 18 and number[:17].isdigit()

    number = "11010519491231002X"
    assert any(broken(m) for m in single_char_mutants(number, "0123456789X"))
    assert not any(accepts(m) for m in single_char_mutants(number, "0123456789X"))


# ---- Unified social credit code (GB 32100-2015) ------------------------------------------------------------------
USCC = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def reference_uscc_check(first17: str) -> str:
    total = sum(USCC.index(c) * pow(3, i, 31) for i, c in enumerate(first17))
    return USCC[(31 - total % 31) % 31]


@st.composite
def usccs(draw) -> str:
    first17 = "".join(draw(st.lists(st.sampled_from(USCC), min_size=17, max_size=17)))
    return first17 + reference_uscc_check(first17)


def uscc_ok(code: str) -> bool:
    try:
        identifiers.validate_uscc(code)
    except IdentifierError:
        return False
    return True


def test_uscc_sample():
    assert identifiers.validate_uscc(" 91110000600037341l ") == "91110000600037341L"
    for bad, code in [("91110000600037341M", "uscc_checksum"), ("9111000060003734IL", "uscc_format"),
                      ("9111000060003734", "uscc_length")]:
        with pytest.raises(IdentifierError) as exc:
            identifiers.validate_uscc(bad)
        assert exc.value.code == code


@settings(max_examples=60, deadline=None)
@given(usccs())
def test_uscc_valid_accepted_and_single_changes_rejected(code):
    assert uscc_ok(code)
    assert [m for m in single_char_mutants(code, USCC) if uscc_ok(m)] == []


# ---- Luhn (bank card numbers) ------------------------------------------------------------------------------------
def reference_luhn_digit(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d // 10 + d % 10
    return str((10 - total % 10) % 10)


@FAST
@given(st.text(alphabet="0123456789", min_size=12, max_size=18))
def test_luhn_valid_numbers_and_single_digit_errors(body):
    card = body + reference_luhn_digit(body)
    assert identifiers.luhn_ok(card)
    assert identifiers.validate_card(" ".join(card[i:i + 4] for i in range(0, len(card), 4))) == card
    assert [m for m in single_char_mutants(card, "0123456789") if identifiers.luhn_ok(m)] == []


def test_luhn_samples():
    assert identifiers.luhn_ok("79927398713")
    assert not identifiers.luhn_ok("79927398710")
    body = "622202020000000000"
    card = body + reference_luhn_digit(body)
    assert identifiers.validate_card(f"{card[:4]} {card[4:8]}-{card[8:]}") == card
    for bad in ["123", "62220202000000000000", "6222-0202-0000-0000-01a"]:
        with pytest.raises(IdentifierError):
            identifiers.validate_card(bad)


# ---- Mobile numbers ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("raw", ["13800138000", "138 0013 8000", "138-0013-8000", "8613800138000", "+8613800138000",
                                 "+86 138 0013 8000"])
def test_mobile_normalised_to_e164(raw):
    assert identifiers.normalise_mobile(raw) == "+8613800138000"


@pytest.mark.parametrize("raw", ["12800138000", "1380013800", "138001380001", "+85213800138000", "", "1380013800a"])
def test_mobile_rejected(raw):
    with pytest.raises(IdentifierError) as exc:
        identifiers.normalise_mobile(raw)
    assert exc.value.code == "mobile_format"


@FAST
@given(st.from_regex(r"\A1[3-9][0-9]{9}\Z", fullmatch=True))
def test_mobile_normalisation_is_idempotent(number):
    e164 = identifiers.normalise_mobile(number)
    assert e164 == "+86" + number
    assert identifiers.normalise_mobile(e164) == e164


# ---- Masking -----------------------------------------------------------------------------------------------------
def test_masking_samples():
    assert masking.mask_id_number("11010519491231002X") == "110105********002X"
    assert masking.mask_mobile("13812345678") == "138****5678"
    assert masking.mask_mobile("+8613812345678") == "138****5678"
    assert masking.mask_card("6222020200000000007") == "622202*********0007"
    assert masking.mask_email("zhang.san@example.cn") == "z***@example.cn"
    assert masking.mask_name("张三") == "张*"
    assert masking.mask_name("王小明") == "王**"
    assert masking.mask_name("欧阳娜娜") == "欧阳**"
    assert masking.mask_name("司马光") == "司马*"
    assert masking.mask_name("") == "" and masking.mask_id_number(None) == ""


def mask_leaks(masked: str, value: str, head: int, tail: int) -> bool:
    """A masked value leaks if it has the wrong length or shows anything outside head+tail."""
    if len(masked) != len(value):
        return True
    middle = masked[head:len(masked) - tail]
    return set(middle) != {"*"} or masked[:head] != value[:head] or masked[len(masked) - tail:] != value[len(value) - tail:]


@FAST
@given(resident_ids())
def test_id_mask_keeps_exactly_6_plus_4(number):
    assert not mask_leaks(masking.mask_id_number(number), number, 6, 4)


@FAST
@given(st.from_regex(r"\A1[3-9][0-9]{9}\Z", fullmatch=True))
def test_mobile_mask_keeps_exactly_3_plus_4(number):
    assert not mask_leaks(masking.mask_mobile(number), number, 3, 4)
    assert masking.mask_mobile("+86" + number) == masking.mask_mobile(number)


CJK = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5)


@FAST
@given(st.sampled_from(sorted(masking.COMPOUND_SURNAMES)), st.text(alphabet=CJK, min_size=1, max_size=3))
def test_compound_surnames_kept_whole(surname, given_name):
    assert masking.mask_name(surname + given_name) == surname + "*" * len(given_name)


@FAST
@given(st.text(alphabet=CJK, min_size=2, max_size=4))
def test_name_mask_shows_only_the_surname(name):
    assume(name[:2] not in masking.COMPOUND_SURNAMES)
    masked = masking.mask_name(name)
    assert masked == name[0] + "*" * (len(name) - 1)


def test_mask_detector_catches_a_leaky_variant():
    assert mask_leaks("1101051949****002X", "11010519491231002X", 6, 4)
    assert mask_leaks("138***45678", "13812345678", 3, 4)


# ---- Money -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "fen"), [("50,000.00", 5_000_000), ("50000", 5_000_000), ("0.01", 1), ("1，234.5", 123_450),
                                           (Decimal("12.30"), 1230), (7, 700)])
def test_parse_amount(text, fen):
    assert money.parse_amount(text) == fen


@pytest.mark.parametrize(("text", "code"), [("1.234", "invalid_amount_precision"), ("abc", "invalid_amount"),
                                            ("NaN", "invalid_amount"), ("Infinity", "invalid_amount"),
                                            ("0", "amount_not_positive"), ("-5.00", "amount_not_positive")])
def test_parse_amount_rejects(text, code):
    with pytest.raises(ValidationFailed) as exc:
        money.parse_amount(text)
    assert exc.value.code == code


def test_parse_amount_currency_exponent():
    assert money.parse_amount("1234", "JPY") == 1234
    with pytest.raises(ValidationFailed):
        money.parse_amount("12.5", "JPY")
    with pytest.raises(ValidationFailed) as exc:
        money.parse_amount("1", "XXX")
    assert exc.value.code == "unknown_currency"


@FAST
@given(st.integers(min_value=1, max_value=10**15), st.sampled_from(["CNY", "USD", "JPY"]))
def test_format_parse_round_trip(minor, currency):
    text = money.format_amount(minor, currency)
    assert money.parse_amount(text, currency) == minor
    assert "e" not in text.lower()


_CAP_DIGITS = "零壹贰叁肆伍陆柒捌玖"


def _parse_section(text: str) -> int:
    """Up to 9999 written with 仟佰拾 (零 ignored)."""
    total, digit = 0, 0
    for ch in text:
        if ch in _CAP_DIGITS:
            digit = _CAP_DIGITS.index(ch)
        elif ch in "拾佰仟":
            total += digit * {"拾": 10, "佰": 100, "仟": 1000}[ch]
            digit = 0
        else:
            raise ValueError(ch)
    return total + digit


def _parse_integer(text: str) -> int:
    if "万亿" in text:
        high, low = text.split("万亿", 1)
        return _parse_section(high) * 10**12 + _parse_integer(low)
    if "亿" in text:
        high, low = text.rsplit("亿", 1)
        return _parse_integer(high) * 10**8 + _parse_integer(low)
    if "万" in text:
        high, low = text.split("万", 1)
        return _parse_section(high) * 10**4 + _parse_section(low)
    return _parse_section(text)


def parse_capital(text: str) -> int:
    """An independent reader of capital amounts, in fen."""
    if text.startswith("负"):
        return -parse_capital(text[1:])
    text = text.removesuffix("整")
    yuan_text, _, rest = text.rpartition("元") if "元" in text else ("", "", text)
    fen = _parse_integer(yuan_text) * 100 if yuan_text != "零" else 0
    m = re.fullmatch(r"零?(?:([壹贰叁肆伍陆柒捌玖])角)?(?:([壹贰叁肆伍陆柒捌玖])分)?", rest)
    assert m, text
    return fen + (10 * _CAP_DIGITS.index(m[1]) if m[1] else 0) + (_CAP_DIGITS.index(m[2]) if m[2] else 0)


def capital_violations(fn, fen: int) -> list[str]:
    """The voucher rules of 《正确填写票据和结算凭证的基本规定》 as a detector."""
    text = fn(fen)
    yuan, jiao, fen_d = fen // 100, fen // 10 % 10, fen % 10
    out = []
    if parse_capital(text) != fen:
        out.append("value")
    if "零零" in text:
        out.append("double zero")
    if text.endswith("整") != (jiao == 0 and fen_d == 0):
        out.append("整 only after 元 (never after 角 or 分)")
    if yuan and jiao == 0 and fen_d and "元零" not in text:
        out.append("零 after 元 when 角 is 0 and 分 is not")
    if yuan and re.search(r"零元", text):
        out.append("零 before 元")
    if re.search(r"(^|[零万亿元])[拾佰仟]", text):
        out.append("unit without digit (拾 must be 壹拾)")
    return out


@pytest.mark.parametrize(("fen", "text"), [
    (5_000_000, "伍万元整"),
    (100_010, "壹仟元壹角"),           # 1,000.10: 整 may be left out after 角; 零 is optional here (rule 3): we write neither
    (140_950, "壹仟肆佰零玖元伍角"),    # the regulation's own example
    (600_714, "陆仟零柒元壹角肆分"),
    (1_640_902, "壹万陆仟肆佰零玖元零贰分"),
    (32_504, "叁佰贰拾伍元零肆分"),
    (168_032, "壹仟陆佰捌拾元叁角贰分"),
    (10_700_053, "壹拾万柒仟元伍角叁分"),
    (1_000, "壹拾元整"),
    (10_001_000, "壹拾万零壹拾元整"),
    (10_000_000_010, "壹亿元壹角"),
    (10_000_000_110, "壹亿零壹元壹角"),
    (100_000_000_000_000, "壹万亿元整"), (1_000_000_000_000_000, "壹拾万亿元整"),
    (5, "伍分"),
    (50, "伍角"),
    (0, "零元整"),
    (-12_300, "负壹佰贰拾叁元整"),
])
def test_chinese_capital_samples(fen, text):
    assert money.to_chinese_capital(fen) == text
    assert capital_violations(money.to_chinese_capital, fen) == []


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.integers(min_value=1, max_value=10**12),
                 st.integers(min_value=0, max_value=10**8).map(lambda n: n * 10**7 + (n % 7) * 10 ** (n % 5))))
def test_chinese_capital_round_trip_and_voucher_rules(fen):
    assert capital_violations(money.to_chinese_capital, fen) == []


def test_capital_detector_catches_broken_variants():
    def old_style(fen: int) -> str:  # "壹仟元壹角整": 整 after 角
        text = money.to_chinese_capital(fen)
        return text + "整" if text.endswith("角") else text

    def no_zero_after_yuan(fen: int) -> str:
        return money.to_chinese_capital(fen).replace("元零", "元")

    assert capital_violations(old_style, 100_010)
    assert capital_violations(no_zero_after_yuan, 1_640_902)


# ---- Working days ------------------------------------------------------------------------------------------------
BASE = date(2026, 1, 1)
offsets = st.integers(min_value=0, max_value=120)


@st.composite
def calendars(draw):
    holidays = {BASE + timedelta(days=o) for o in draw(st.sets(offsets, max_size=40))}
    weekend_offsets = [o for o in range(121) if (BASE + timedelta(days=o)).weekday() >= 5]
    makeup = {BASE + timedelta(days=o) for o in draw(st.sets(st.sampled_from(weekend_offsets), max_size=8))}
    return frozenset(holidays - makeup), frozenset(makeup)


def working_day_violations(fn, start: date, n: int, holidays, makeup) -> list[str]:
    result = fn(start, n, holidays, makeup)
    out = []
    if not workdays.is_working_day(result, holidays, makeup):
        out.append("result is not a working day")
    if n and workdays.working_days_between(start, result, holidays, makeup) != n:
        out.append("working days in (start, result] != n")
    if n and workdays.working_days_between(start, result - timedelta(days=1), holidays, makeup) != n - 1:
        out.append("not the first such day")
    if n == 0 and any(workdays.is_working_day(start + timedelta(days=i), holidays, makeup) for i in range((result - start).days)):
        out.append("n=0 skipped a working day")
    return out


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=90).map(lambda o: BASE + timedelta(days=o)), st.integers(min_value=0, max_value=25),
       calendars())
def test_add_working_days_properties(start, n, cal):
    holidays, makeup = cal
    assert working_day_violations(workdays.add_working_days, start, n, holidays, makeup) == []


def test_add_working_days_examples_with_shipped_2026_calendar():
    holidays, makeup = load_shipped_calendar()
    # Friday 2026-09-25 is 中秋节; Sunday 09-20 is a makeup day; the National Day week is off; Saturday 10-10 works.
    assert workdays.add_working_days(date(2026, 9, 18), 1, holidays, makeup) == date(2026, 9, 20)
    assert workdays.add_working_days(date(2026, 9, 30), 1, holidays, makeup) == date(2026, 10, 8)
    assert workdays.add_working_days(date(2026, 9, 30), 3, holidays, makeup) == date(2026, 10, 10)
    assert workdays.add_working_days(date(2026, 10, 3), 0, holidays, makeup) == date(2026, 10, 8)
    with pytest.raises(ValueError):
        workdays.add_working_days(date(2026, 1, 5), -1, holidays, makeup)


def test_working_day_detector_catches_a_calendar_blind_variant():
    holidays, makeup = load_shipped_calendar()

    def weekdays_only(start, n, holidays, makeup):  # ignores holidays and makeup days
        return workdays.add_working_days(start, n, frozenset(), frozenset())

    assert working_day_violations(weekdays_only, date(2026, 9, 30), 3, holidays, makeup)
    assert working_day_violations(weekdays_only, date(2026, 9, 18), 1, holidays, makeup)


# ---- The shipped holiday file ------------------------------------------------------------------------------------
HOLIDAY_CSV = Path(__file__).resolve().parent.parent / "bankcrm" / "core" / "data" / "holidays_cn.csv"


def load_shipped_rows() -> list[tuple[date, str, str]]:
    with HOLIDAY_CSV.open(encoding="utf-8") as fh:
        return [(date.fromisoformat(r["date"]), r["kind"], r["name"]) for r in csv.DictReader(fh)]


def load_shipped_calendar():
    rows = load_shipped_rows()
    return (frozenset(d for d, k, _ in rows if k == "holiday"), frozenset(d for d, k, _ in rows if k == "workday"))


def calendar_file_violations(rows) -> list[str]:
    out = []
    seen = set()
    for d, kind, name in rows:
        if d in seen:
            out.append(f"{d} twice")
        seen.add(d)
        if kind == "workday" and d.weekday() < 5:
            out.append(f"{d} makeup day on a weekday")
        if kind == "holiday" and d.weekday() >= 5:
            out.append(f"{d} holiday on a weekend (no effect)")
        if kind not in ("holiday", "workday") or not name.strip():
            out.append(f"{d} bad kind or name")
    return out


def test_shipped_holiday_csv_is_consistent():
    rows = load_shipped_rows()
    assert rows, "the file ships at least one year"
    assert calendar_file_violations(rows) == []
    # National Day 2026: 1–7 October off, of which the weekdays are listed
    off = {d for d, k, _ in rows if k == "holiday" and d.month == 10}
    assert off == {date(2026, 10, d) for d in (1, 2, 5, 6, 7)}


def test_calendar_file_detector_catches_a_bad_row():
    assert calendar_file_violations([(date(2026, 10, 8), "workday", "错误")])  # a Thursday
    assert calendar_file_violations([(date(2026, 10, 3), "holiday", "周六")])


# ---- Rule parameters at effective dates (database) ---------------------------------------------------------------
@pytest.mark.django_db
def test_parameter_value_in_force_at_each_instant(bank):
    from django.utils import timezone

    from bankcrm.core import params, services
    from bankcrm.core.errors import RuleViolation

    code = "approvals.expiry"
    default = params.definition(code).default
    now = timezone.now()
    t1, t2 = now + timedelta(hours=1), now + timedelta(days=2)
    services.parameter_set(actor=bank.admin, code=code, value=48, effective_from=t1, reason="测试：延长")
    services.parameter_set(actor=bank.admin, code=code, value=12, effective_from=t2, reason="测试：缩短")

    def expected(at: datetime) -> int:
        return 12 if at >= t2 else 48 if at >= t1 else default

    for at in [now, t1 - timedelta(microseconds=1), t1, t1 + timedelta(hours=3), t2 - timedelta(seconds=1), t2,
               t2 + timedelta(days=400)]:
        assert params.value(code, at) == expected(at), at
    assert params.value(code) == default  # "now" is before t1
    with pytest.raises(RuleViolation):
        services.parameter_set(actor=bank.admin, code=code, value=1, effective_from=now - timedelta(days=1), reason="追溯")
    with pytest.raises(ValidationFailed):
        services.parameter_set(actor=bank.admin, code=code, value=0, effective_from=None, reason="低于最小值")
    # a lookup that ignored effective dates (latest version wins) is caught by the same oracle
    from bankcrm.core.models import ParameterVersion

    naive = int(ParameterVersion.objects.filter(code=code).order_by("-effective_from").first().value)
    assert naive != expected(now)
