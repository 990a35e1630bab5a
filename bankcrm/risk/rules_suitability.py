"""Investor suitability rules (DOMAIN_RULES.md §4), pure: questionnaire validation and scoring, score band → investor
level C1–C5, and the one decision whether a product of level R0–R5 may be recommended or sold to a customer.

Figures (validity, elderly age, cooling-off hours, certified level) are passed in by the service from core.params.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.utils.translation import gettext as _

PRODUCT_KINDS = ("deposit", "wealth", "fund", "insurance", "private")
# An elderly customer buying a product of this risk level or above (or insurance) needs enhanced disclosure and a
# sales recording (§4 "R3+"); the product scale itself, not a tunable figure.
LEVEL_MIN, LEVEL_MAX = 1, 5


# ---- Questionnaire ------------------------------------------------------------------------------------------------
def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def max_score(questions: list[dict]) -> int:
    return sum(max(o["score"] for o in q["options"]) for q in questions)


def questionnaire_problems(questions: Any, bands: Any) -> list[str]:
    """Every problem of a questionnaire's content, each naming where it is; empty when it can be published."""
    out: list[str] = []
    if not isinstance(questions, list) or not questions:
        return [_("题目（questions）必须是非空列表")]
    seen: set[str] = set()
    for i, q in enumerate(questions, 1):
        where = _("第 %(n)d 题") % {"n": i}
        if not isinstance(q, dict):
            out.append(_("%(w)s必须是对象（含 code、text、options）") % {"w": where})
            continue
        code = q.get("code")
        if not isinstance(code, str) or not code.strip():
            out.append(_("%(w)s缺少代码（code）") % {"w": where})
        elif code in seen:
            out.append(_("%(w)s的代码 %(c)s 重复") % {"w": where, "c": code})
        else:
            seen.add(code)
            where = _("第 %(n)d 题（%(c)s）") % {"n": i, "c": code}
        if not isinstance(q.get("text"), str) or not q["text"].strip():
            out.append(_("%(w)s缺少题目文字（text）") % {"w": where})
        if not isinstance(q.get("text_en", ""), str):
            out.append(_("%(w)s的英文文字（text_en）必须是字符串") % {"w": where})
        options = q.get("options")
        if not isinstance(options, list) or len(options) < 2:
            out.append(_("%(w)s至少需要两个选项（options）") % {"w": where})
            continue
        ocodes: set[str] = set()
        for j, o in enumerate(options, 1):
            ow = _("%(w)s的第 %(n)d 个选项") % {"w": where, "n": j}
            if not isinstance(o, dict):
                out.append(_("%(w)s必须是对象（含 code、text、score）") % {"w": ow})
                continue
            oc = o.get("code")
            if not isinstance(oc, str) or not oc.strip():
                out.append(_("%(w)s缺少代码（code）") % {"w": ow})
            elif oc in ocodes:
                out.append(_("%(w)s的代码 %(c)s 重复") % {"w": ow, "c": oc})
            else:
                ocodes.add(oc)
            if not isinstance(o.get("text"), str) or not o["text"].strip():
                out.append(_("%(w)s缺少选项文字（text）") % {"w": ow})
            if not _is_int(o.get("score")) or o["score"] < 0:
                out.append(_("%(w)s的分值（score）必须是非负整数") % {"w": ow})
    out += band_problems(bands, None if out else max_score(questions))
    return out


def band_problems(bands: Any, top: int | None) -> list[str]:
    """Bands ``[[max_score, level], ...]``: scores and levels strictly ascending, levels 1–5, last band ≥ ``top``."""
    if not isinstance(bands, list) or not bands:
        return [_("分数段（bands）必须是非空列表，如 [[20, 1], [40, 2]]")]
    out: list[str] = []
    prev_score, prev_level = -1, 0
    for i, b in enumerate(bands, 1):
        if not (isinstance(b, list) and len(b) == 2 and _is_int(b[0]) and _is_int(b[1])):
            out.append(_("第 %(n)d 个分数段必须是 [最高分, 等级] 两个整数") % {"n": i})
            continue
        score, level = b
        if not LEVEL_MIN <= level <= LEVEL_MAX:
            out.append(_("第 %(n)d 个分数段的等级 %(l)s 不在 1–5 之间") % {"n": i, "l": level})
        if score <= prev_score:
            out.append(_("第 %(n)d 个分数段的最高分 %(s)s 必须大于上一段") % {"n": i, "s": score})
        if level <= prev_level:
            out.append(_("第 %(n)d 个分数段的等级 %(l)s 必须高于上一段") % {"n": i, "l": level})
        prev_score, prev_level = max(prev_score, score), max(prev_level, level)
    if not out and top is not None and prev_score < top:
        out.append(_("分数段未覆盖最高可能得分 %(t)d（最后一段最高分为 %(s)d）") % {"t": top, "s": prev_score})
    return out


def answer_problems(questions: list[dict], answers: Mapping[str, Any]) -> dict[str, str]:
    """{question code: problem} for unanswered questions, unknown options and answers to no question."""
    out: dict[str, str] = {}
    for q in questions:
        a = answers.get(q["code"])
        if a in (None, ""):
            out[q["code"]] = _("请回答此题")
        elif a not in {o["code"] for o in q["options"]}:
            out[q["code"]] = _("无效的选项 %(a)s") % {"a": a}
    codes = {q["code"] for q in questions}
    for k in answers:
        if k not in codes:
            out[str(k)] = _("问卷中没有此题")
    return out


def score(questions: list[dict], answers: Mapping[str, str]) -> int:
    """Sum of the chosen options' scores (answers already checked by ``answer_problems``)."""
    return sum(next(o["score"] for o in q["options"] if o["code"] == answers[q["code"]]) for q in questions)


def level_for(total: int, bands: list[list[int]]) -> int:
    """The level of the first band whose max score is ≥ ``total`` (bands cover the max score)."""
    for top, level in bands:
        if total <= top:
            return level
    return bands[-1][1]


# ---- The decision -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Decision:
    allowed: bool
    violations: list[tuple[str, str]] = field(default_factory=list)
    requirements: dict[str, Any] = field(default_factory=dict)
    investor_level: int | None = None
    valid_until: date | None = None

    @property
    def codes(self) -> list[str]:
        return [c for c, _m in self.violations]

    def as_dict(self) -> dict[str, Any]:
        cool = self.requirements.get("cooling_off_until")
        return {"allowed": self.allowed, "violations": [{"code": c, "message": str(m)} for c, m in self.violations],
                "requirements": {**self.requirements, "cooling_off_until": cool.isoformat() if cool else None},
                "investor_level": self.investor_level,
                "valid_until": self.valid_until.isoformat() if self.valid_until else None}


def age_on(birth_date: date | None, day: date) -> int | None:
    if birth_date is None:
        return None
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def is_expired(valid_until: date | None, day: date) -> bool:
    """An assessment is valid through its ``valid_until`` day and expired from the day after."""
    return valid_until is not None and day > valid_until


def recording_complete(recording: Mapping[str, Any] | None, at: datetime) -> bool:
    """A 双录 reference names the recording, the booth and a time not after the sale."""
    if not recording:
        return False
    rid, booth, when = (recording.get(k) for k in ("recording_id", "booth", "recorded_at"))
    if not (isinstance(rid, str) and rid.strip() and isinstance(booth, str) and booth.strip()):
        return False
    if isinstance(when, str):
        try:
            when = datetime.fromisoformat(when)
        except ValueError:
            return False
    if not isinstance(when, datetime):
        return False
    if when.tzinfo is None and at.tzinfo is not None:
        when = when.replace(tzinfo=at.tzinfo)
    return when <= at


def decide(*, investor_level: int | None, valid_until: date | None, birth_date: date | None, product_level: int,
           product_kind: str, recording_ok: bool, seller_certified: bool, at: datetime, today: date, elderly_age: int,
           cooling_off_hours: int, certified_level: int, elderly_product_level: int) -> Decision:
    """May a product of ``product_level`` (0 = deposit, no assessment needed) and ``product_kind`` be recommended or
    sold to this investor now? Every rule that fails is named; requirements say what the sale must still carry."""
    v: list[tuple[str, str]] = []
    if product_level > 0:
        if investor_level is None:
            v.append(("suitability_missing", _("适当性：客户尚未做风险承受能力评估，不能推荐或销售有风险等级的产品")))
        else:
            if is_expired(valid_until, today):
                v.append(("suitability_expired", _("适当性：客户的风险承受能力评估已于 %(d)s 到期，须重新评估后方可推荐或销售")
                          % {"d": valid_until}))
            if investor_level < product_level:
                v.append(("suitability_level_too_low", _("适当性：客户风险承受能力 C%(c)d 低于产品风险等级 R%(r)d，不能推荐或销售")
                          % {"c": investor_level, "r": product_level}))
    age = age_on(birth_date, today)
    elderly = (age is not None and age >= elderly_age
               and (product_level >= elderly_product_level or product_kind == "insurance"))
    if elderly and not recording_ok:
        v.append(("suitability_recording_required", _(
            "老年客户双录：客户已满 %(a)d 周岁，购买 R%(l)d 及以上或保险产品须加强风险揭示，并提供双录记录（录音录像编号、双录区、录制时间）")
            % {"a": elderly_age, "l": elderly_product_level}))
    if product_level >= certified_level and not seller_certified:
        v.append(("seller_not_certified", _("销售资格：销售人员未取得销售 R%(r)d 产品所需的资格认证") % {"r": product_level}))
    requirements = {"enhanced_disclosure": elderly, "recording": elderly,
                    "cooling_off_until": at + timedelta(hours=cooling_off_hours) if product_kind == "private" else None}
    return Decision(allowed=not v, violations=v, requirements=requirements, investor_level=investor_level,
                    valid_until=valid_until)


# ---- The default questionnaire ------------------------------------------------------------------------------------
def _q(code: str, text: str, text_en: str, options: list[tuple[str, str, int]]) -> dict:
    return {"code": code, "text": text, "text_en": text_en, "options": [
        {"code": chr(65 + i), "text": t, "text_en": en, "score": s} for i, (t, en, s) in enumerate(options)]}


DEFAULT_CODE = "RTQ"
DEFAULT_TITLE = ("个人投资者风险承受能力评估问卷", "Individual investor risk tolerance questionnaire")
DEFAULT_QUESTIONS = [
    _q("age", "您的年龄是？", "What is your age?", [
        ("18—30 岁", "18–30", 8), ("31—50 岁", "31–50", 10), ("51—60 岁", "51–60", 6), ("61—64 岁", "61–64", 3),
        ("65 岁及以上", "65 or over", 1)]),
    _q("income", "您的家庭年收入约为？", "What is your household's annual income?", [
        ("10 万元以下", "Under CNY 100,000", 2), ("10 万至 30 万元", "CNY 100,000–300,000", 5),
        ("30 万至 100 万元", "CNY 300,000–1,000,000", 8), ("100 万元以上", "Over CNY 1,000,000", 10)]),
    _q("share", "您计划投资的金额占家庭金融资产的比例是？",
       "What share of your household's financial assets do you plan to invest?", [
           ("70% 以上", "Over 70%", 2), ("50%—70%", "50–70%", 4), ("30%—50%", "30–50%", 6), ("10%—30%", "10–30%", 8),
           ("10% 以下", "Under 10%", 10)]),
    _q("experience", "您投资股票、基金、理财等产品的经验有多长？",
       "How long have you invested in shares, funds or wealth products?", [
           ("没有经验", "None", 0), ("2 年以下", "Under 2 years", 4), ("2—5 年", "2–5 years", 7),
           ("5 年以上", "Over 5 years", 10)]),
    _q("knowledge", "您对金融产品及其风险的了解程度是？", "How well do you know financial products and their risks?", [
        ("基本不了解", "Hardly at all", 0), ("了解一些", "Somewhat", 4), ("比较了解", "Fairly well", 7),
        ("非常了解（有金融从业或专业背景）", "Very well (financial profession or training)", 10)]),
    _q("products", "您曾经投资过的风险最高的产品是？", "What is the riskiest product you have invested in?", [
        ("仅银行存款、国债", "Only deposits and government bonds", 1),
        ("银行理财、债券基金", "Bank wealth products, bond funds", 4),
        ("股票、混合或股票型基金", "Shares, mixed or equity funds", 7),
        ("期货、私募基金、结构性产品等", "Futures, private funds, structured products", 10)]),
    _q("horizon", "您计划的投资期限是？", "How long do you plan to keep the investment?", [
        ("1 年以内", "Under 1 year", 2), ("1—3 年", "1–3 years", 5), ("3—5 年", "3–5 years", 8),
        ("5 年以上", "Over 5 years", 10)]),
    _q("goal", "您的投资目标是？", "What is your investment goal?", [
        ("保本，获得稳定的小额收益", "Keep the principal, small steady income", 1),
        ("稳健增值，可承受少量波动", "Steady growth, small swings accepted", 4),
        ("获得较高收益，可承受较大波动", "Higher returns, larger swings accepted", 7),
        ("追求高收益，可承受大幅亏损", "High returns, large losses accepted", 10)]),
    _q("loss", "您能承受的最大投资亏损是？", "What is the largest loss you could bear?", [
        ("不能承受任何本金亏损", "No loss of principal", 0), ("10% 以内", "Up to 10%", 4),
        ("10%—30%", "10–30%", 7), ("30% 以上", "Over 30%", 10)]),
    _q("reaction", "如果您的投资在短期内下跌 20%，您会？", "If your investment fell 20% in a short time, you would…", [
        ("全部卖出", "Sell everything", 1), ("卖出一部分", "Sell part of it", 4), ("继续持有", "Hold", 7),
        ("逢低加仓", "Buy more", 10)]),
]
# Max score 100: C1 保守型 ≤ 20, C2 稳健型 ≤ 40, C3 平衡型 ≤ 60, C4 成长型 ≤ 80, C5 进取型 ≤ 100.
DEFAULT_BANDS = [[20, 1], [40, 2], [60, 3], [80, 4], [100, 5]]
