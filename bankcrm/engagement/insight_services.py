"""Insight and life-event services (issue #9, needs analysis).

- ``insights_extract``: the intents found in one source text (an interaction's notes, a complaint or feedback case,
  a survey comment, a service request) become ``Insight`` rows — one per intent, with the sentence it came from, its
  keyword and the sentence's sentiment. Idempotent per source: running it again changes nothing; after the text
  changed, intents no longer found are removed and the others updated. One audit event when something changed
  (intent codes only: the sentences are the customer's words and stay out of the audit trail).
- ``insights_for_interaction`` / ``_for_complaint`` / ``_for_response`` / ``_for_request``: read the source (a
  system read: these run from the interaction hook, outbox consumers and the sweep, never on behalf of a user) and
  extract. Only interactions that took place count: a planned contact's notes are the manager's plan, not the
  customer's words; cancelling a contact removes its insights.
- ``feedback_sweep``: complaints, feedback cases, survey answers and service requests of the last days, for the
  sources no outbox event announces (a new complaint, an answer without follow-up).
- ``intent_dictionary_save``: an administrator's new version of the intent dictionary (validated, audited); the
  newest version is in force, else the maintained file ``data/intents.json`` (``active_dictionary``).
- ``life_events_sweep``: birthdays in the next ``engagement.birthday_window`` days, time-deposit maturities (ledger
  accounts' ``maturity_date``) and wealth-product maturities in the next ``engagement.maturity_window`` days, large
  inflows (one credit ≥ ``engagement.large_inflow`` from outside the customer's own accounts) since yesterday, and
  children starting school (from education insights and needs profiles: "孩子明年上小学"). Each event once, by its
  ``key``; one audit event per run that created any.
"""

from __future__ import annotations

import json
import logging
import re
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bankcrm.core import access, audit, params
from bankcrm.core.errors import RuleViolation, ValidationFailed

from . import insights
from .models import Insight, LifeEvent

log = logging.getLogger(__name__)

SENTENCE_MAX: int = getattr(Insight._meta.get_field("sentence"), "max_length", None) or 300
KEYWORD_MAX: int = getattr(Insight._meta.get_field("keyword"), "max_length", None) or 40
INFLOW_KINDS = ("cash_in", "internal", "opening")  # new money; interest, maturities and reversals are not


# ---- The dictionary in force -----------------------------------------------------------------------------------------
def active_dictionary() -> insights.Dictionary:
    """The dictionary in force: the newest version saved by an administrator, else the one maintained in the
    repository (``data/intents.json``). Versions never change once saved, so each is compiled once per process."""
    from .models import IntentDictionary

    row = IntentDictionary.objects.order_by("-version").values_list("pk", "digest").first()
    if row is None:
        return insights.shipped()
    try:
        return _compiled(*row)
    except insights.DictionaryError:  # saved under older rules that no longer validate: fall back, loudly
        log.error("intent dictionary version %s no longer validates; using the maintained file", row[0])
        return insights.shipped()


@lru_cache(maxsize=8)
def _compiled(pk: int, digest: str) -> insights.Dictionary:
    from .models import IntentDictionary

    return insights.compile_dictionary(IntentDictionary.objects.get(pk=pk).data)


def active_version() -> Any:
    """The IntentDictionary row in force, or None when the maintained file is."""
    from .models import IntentDictionary

    return IntentDictionary.objects.select_related("created_by").order_by("-version").first()


def parse_dictionary(data: Any) -> insights.Dictionary:
    """A dictionary document (JSON text or already parsed) compiled, or ValidationFailed naming each bad part (under
    the field ``data``: "intents[2].phrases：…")."""
    if isinstance(data, (bytes, bytearray)):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValidationFailed("intent_dictionary_encoding", _("文件须为 UTF-8 编码的 JSON"),
                                   fields={"data": [str(_("文件须为 UTF-8 编码的 JSON"))]}) from None
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except json.JSONDecodeError as exc:
            msg = _("JSON 格式错误：第 %(line)d 行第 %(col)d 列") % {"line": exc.lineno, "col": exc.colno}
            raise ValidationFailed("intent_dictionary_not_json", msg, fields={"data": [str(msg)]}) from None
    try:
        return insights.compile_dictionary(data)
    except insights.DictionaryError as exc:
        detail = [f"{path}：{'；'.join(msgs)}" if path else "；".join(msgs) for path, msgs in exc.fields.items()]
        raise ValidationFailed("intent_dictionary_invalid", _("意图词典有误，未保存"), fields={"data": detail}) from None


def intent_dictionary_save(*, actor: Any, data: Any, note: str) -> Any:
    """Save a new version of the intent dictionary (administrators): validated as a whole, numbered after the newest
    version (and after the maintained file's), audited; it is in force from now on. Insights already stored keep
    what they were extracted with."""
    from .models import IntentDictionary

    access.require(actor, "engagement.manage")
    note = str(note or "").strip()
    if len(note) < 2 or len(note) > 200:
        raise ValidationFailed("note_required", _("请填写修改说明（2–200个字）"),
                               fields={"note": [str(_("请填写修改说明（2–200个字）"))]})
    d = parse_dictionary(data)
    with transaction.atomic():
        current = active_dictionary()
        if d.digest == current.digest:
            raise RuleViolation("intent_dictionary_unchanged", _("词典内容没有变化，未生成新版本"))
        newest = IntentDictionary.objects.select_for_update().order_by("-version").values_list("version", flat=True).first()
        version = max(newest or 0, insights.shipped().version) + 1
        raw = {**d.raw, "version": version}
        saved = insights.compile_dictionary(raw)
        try:
            with transaction.atomic():
                row = IntentDictionary.objects.create(version=version, data=raw, digest=saved.digest, note=note,
                                                      created_by=actor, created_at=timezone.now())
        except IntegrityError:  # another administrator saved the same number a moment ago
            raise RuleViolation("intent_dictionary_concurrent", _("其他管理员刚刚保存了新版本，请刷新后重试")) from None
        audit.record(actor=actor, verb="engagement.intents_saved", target=row, target_repr=f"v{version}",
                     before={"version": current.version, "digest": current.digest},
                     after={"version": version, "digest": saved.digest, "intents": saved.codes}, reason=note)
    return row


def intent_dictionary_restore_file(*, actor: Any, note: str) -> Any:
    """Put the repository's maintained dictionary back in force (as a new version: history stays whole)."""
    return intent_dictionary_save(actor=actor, data=insights.read_dictionary(), note=note)


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SENTENCE_MAX else text[:SENTENCE_MAX - 1] + "…"


# ---- Insights -------------------------------------------------------------------------------------------------------
def insights_extract(*, source: str, source_id: int, customer_id: int, text: str, found_at: datetime | None = None,
                     actor: Any = None) -> dict[str, int]:
    """Store the intents found in ``text`` for one source (see the module docstring). Returns
    ``{"created", "updated", "deleted", "kept"}``."""
    if source not in Insight.Source.values:
        raise ValueError(f"unknown insight source {source!r}")
    analysis = insights.analyze(text or "", active_dictionary(), with_keywords=False)
    found_at = found_at or timezone.now()
    wanted: dict[str, dict[str, Any]] = {}
    for h in analysis.first_hits():
        sentence = analysis.sentences[h.sentence_index]
        wanted[h.intent] = {"keyword": h.keyword[:KEYWORD_MAX], "sentence": _sentence(sentence),
                            "sentiment": insights.sentiment_of(sentence)}
    out = {"created": 0, "updated": 0, "deleted": 0, "kept": 0}
    with transaction.atomic():
        existing = {i.intent: i for i in Insight.objects.select_for_update().filter(source=source, source_id=source_id)}
        gone = [i.pk for code, i in existing.items() if code not in wanted]
        if gone:
            out["deleted"] = Insight.objects.filter(pk__in=gone).delete()[0]
        new = []
        for code, data in wanted.items():
            row = existing.get(code)
            if row is None:
                new.append(Insight(customer_id=customer_id, source=source, source_id=source_id, intent=code,
                                   found_at=found_at, **data))
            elif any(getattr(row, k) != v for k, v in data.items()) or row.customer_id != customer_id:
                Insight.objects.filter(pk=row.pk).update(customer_id=customer_id, **data)
                out["updated"] += 1
            else:
                out["kept"] += 1
        if new:  # a concurrent run may have inserted the same intent: the unique constraint keeps one
            out["created"] = len(Insight.objects.bulk_create(new, ignore_conflicts=True))
        if out["created"] or out["updated"] or out["deleted"]:
            audit.record(actor=actor, verb="engagement.insights_extracted", target_type=f"engagement.{source}",
                         target_id=source_id, target_repr=f"{source}:{source_id}",
                         after={"customer_id": customer_id, "intents": sorted(wanted),
                                "dictionary_version": analysis.dictionary_version,
                                **{k: v for k, v in out.items() if v}})
    return out


def insights_clear(*, source: str, source_id: int, actor: Any = None) -> int:
    with transaction.atomic():
        rows = list(Insight.objects.filter(source=source, source_id=source_id).values_list("intent", flat=True))
        if not rows:
            return 0
        deleted = Insight.objects.filter(source=source, source_id=source_id).delete()[0]
        audit.record(actor=actor, verb="engagement.insights_extracted", target_type=f"engagement.{source}",
                     target_id=source_id, target_repr=f"{source}:{source_id}",
                     before={"intents": sorted(rows)}, after={"intents": [], "deleted": deleted})
    return deleted


def interaction_text(i: Any) -> str:
    """What a contact's insight reads: the notes (the customer's words as the manager wrote them), else the subject.
    Next steps are the manager's plan, not the customer's."""
    return (i.notes or "").strip() or (i.subject or "").strip()


def insights_for_interaction(interaction_id: int) -> dict[str, int]:
    from .models import Interaction

    i = Interaction.objects.filter(pk=interaction_id).first()
    if i is None:
        return {}
    if i.status != Interaction.Status.DONE:
        return {"deleted": insights_clear(source=Insight.Source.INTERACTION, source_id=i.pk)}
    return insights_extract(source=Insight.Source.INTERACTION, source_id=i.pk, customer_id=i.customer_id,
                            text=interaction_text(i), found_at=i.occurred_at or i.created_at)


def complaint_text(c: Any) -> str:
    return "。".join(p.strip() for p in (c.summary, c.description, c.request) if p and p.strip())


def insights_for_complaint(complaint_id: int) -> dict[str, int]:
    from bankcrm.service.models import Complaint

    c = Complaint.objects.filter(pk=complaint_id).first()
    if c is None:
        return {}
    return insights_extract(source=Insight.Source.COMPLAINT, source_id=c.pk, customer_id=c.customer_id,
                            text=complaint_text(c), found_at=c.received_at)


def insights_for_response(response_id: int) -> dict[str, int]:
    from bankcrm.surveys.models import Response

    r = Response.objects.filter(pk=response_id).first()
    if r is None:
        return {}
    return insights_extract(source=Insight.Source.SURVEY, source_id=r.pk, customer_id=r.customer_id,
                            text=r.comment or "", found_at=r.created_at)


def insights_for_request(request_id: int) -> dict[str, int]:
    from bankcrm.service.models import ServiceRequest

    r = ServiceRequest.objects.filter(pk=request_id).first()
    if r is None:
        return {}
    text = "。".join(p.strip() for p in (r.subject, r.description) if p and p.strip())
    return insights_extract(source=Insight.Source.REQUEST, source_id=r.pk, customer_id=r.customer_id, text=text,
                            found_at=r.received_at)


def _safely(func: Any, pk: int) -> bool:
    try:
        with transaction.atomic():  # a savepoint: one bad source never stops the others
            func(pk)
        return True
    except Exception:
        log.warning("insight extraction failed: %s(%s)", func.__name__, pk, exc_info=True)
        return False


def feedback_sweep(*, days: int = 2, hours: int = 0, now: datetime | None = None, limit: int = 5000) -> dict[str, int]:
    """Extract from complaints/feedback, survey comments and service requests received in the last ``days`` days
    and ``hours`` hours (idempotent: the ones already extracted do not change)."""
    from bankcrm.service.models import Complaint, ServiceRequest
    from bankcrm.surveys.models import Response

    since = (now or timezone.now()) - timedelta(days=days, hours=hours)
    done = {"complaint": 0, "survey": 0, "request": 0}
    for pk in Complaint.objects.filter(received_at__gte=since).order_by("id").values_list("id", flat=True)[:limit]:
        done["complaint"] += _safely(insights_for_complaint, pk)
    for pk in (Response.objects.filter(created_at__gte=since).exclude(comment="").order_by("id")
               .values_list("id", flat=True)[:limit]):
        done["survey"] += _safely(insights_for_response, pk)
    for pk in ServiceRequest.objects.filter(received_at__gte=since).order_by("id").values_list("id", flat=True)[:limit]:
        done["request"] += _safely(insights_for_request, pk)
    return done


# ---- Life events ----------------------------------------------------------------------------------------------------
def _birthday_in(year: int, born: date) -> date:
    """The birthday in ``year`` (29 February → 28 February in common years)."""
    try:
        return born.replace(year=year)
    except ValueError:
        return date(year, 2, 28)


def _birthdays(today: date, days: int) -> list[LifeEvent]:
    from bankcrm.customers.models import Customer

    window = [today + timedelta(days=n) for n in range(days + 1)]
    q = Q()
    for d in window:
        q |= Q(birth_date__month=d.month, birth_date__day=d.day)
        if d.month == 2 and d.day == 28 and not _leap(d.year):
            q |= Q(birth_date__month=2, birth_date__day=29)
    out = []
    for cid, born in (Customer.objects.filter(q, kind="person", status="active", birth_date__isnull=False)
                      .order_by("id").values_list("id", "birth_date")):
        for d in window:
            if _birthday_in(d.year, born) == d:
                out.append(LifeEvent(customer_id=cid, kind=LifeEvent.Kind.BIRTHDAY, on_date=d,
                                     detail={"age": d.year - born.year}, key=f"birthday:{cid}:{d.isoformat()}"))
                break
    return out


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _deposit_maturities(today: date, days: int) -> list[LifeEvent]:
    from bankcrm.ledger.models import Account

    rows = (Account.objects.filter(kind="customer", customer__isnull=False, status="active", product__kind="time",
                                   maturity_date__gte=today, maturity_date__lte=today + timedelta(days=days))
            .order_by("id").values_list("id", "customer_id", "maturity_date", "product__name", "balance_fen", "currency",
                                        "maturity_instruction"))
    return [LifeEvent(customer_id=cid, kind=LifeEvent.Kind.MATURITY, on_date=d,
                      detail={"account_id": pk, "product": name, "balance_fen": bal, "currency": cur,
                              "instruction": instr}, key=f"maturity:{pk}:{d.isoformat()}")
            for pk, cid, d, name, bal, cur, instr in rows]


def _wealth_maturities(today: date, days: int) -> list[LifeEvent]:
    from bankcrm.wealth.models import Holding

    # Deposit-kind holdings are time-deposit accounts: the ledger's maturity date already covers them.
    rows = (Holding.objects.filter(status="active", deposit_account__isnull=True, product__maturity_date__gte=today,
                                   product__maturity_date__lte=today + timedelta(days=days))
            .order_by("id").values_list("id", "customer_id", "product__maturity_date", "product_id", "product__name",
                                        "cost_fen", "product__currency"))
    return [LifeEvent(customer_id=cid, kind=LifeEvent.Kind.WEALTH_MATURITY, on_date=d,
                      detail={"holding_id": pk, "product_id": prod, "product": name, "cost_fen": cost, "currency": cur},
                      key=f"wm_maturity:{pk}:{d.isoformat()}")
            for pk, cid, d, prod, name, cost, cur in rows]


def _large_inflows(now: datetime, threshold_fen: int) -> list[LifeEvent]:
    """Credits to a customer's CNY deposit account of at least the threshold, posted since the start of yesterday,
    that are new money: cash, a transfer from someone else, an opening deposit — not interest, maturities, wealth
    payouts, transfers between the customer's own accounts, or entries since reversed."""
    from bankcrm.ledger.models import JournalEntry

    tz = timezone.get_default_timezone()
    since = datetime.combine(timezone.localdate(now) - timedelta(days=1), time.min, tz)
    rows = (JournalEntry.objects.filter(posted_at__gte=since, posted_at__lte=now, kind__in=INFLOW_KINDS,
                                        currency="CNY", amount_fen__gte=threshold_fen,
                                        credit_account__kind="customer", credit_account__customer__isnull=False,
                                        reversed_by__isnull=True)
            .exclude(debit_account__customer_id=F("credit_account__customer_id"))
            .order_by("id").values_list("id", "credit_account__customer_id", "posted_at", "amount_fen", "kind",
                                        "credit_account_id"))
    return [LifeEvent(customer_id=cid, kind=LifeEvent.Kind.LARGE_INFLOW, on_date=timezone.localdate(at),
                      detail={"entry_id": pk, "amount_fen": amount, "currency": "CNY", "entry_kind": kind,
                              "account_id": acc}, key=f"inflow:{pk}")
            for pk, cid, at, amount, kind, acc in rows]


# "孩子明年上小学", "女儿今年九月读初中", "儿子下个月上幼儿园": when a child starts school.
SCHOOL_RE = re.compile(r"(?:上|读|进|入读|升入?|考上)(?P<school>幼儿园|小学|初中|高中|大学|中学|研究生|国际学校|寄宿学校)")
WHEN_RE = re.compile(r"今年|明年|后年|下个月|下月|九月|9月|下学期|秋季|秋天")
SOON_RE = re.compile(r"准备|将要|就要|马上|快要|要上|要读|即将")


def school_start(sentence: str, found: date) -> tuple[date, str] | None:
    """When the child starts school and which school, from a sentence and the day it was written; None if the
    sentence names no upcoming start ("孩子上小学了" is today, not a start to come)."""
    m = SCHOOL_RE.search(sentence or "")
    if m is None:
        return None
    before = sentence[max(0, m.start() - 8):m.start()]
    before = re.split(r"[，,。；;！？!?]", before)[-1]  # within the clause
    whens = WHEN_RE.findall(before)
    if not whens and not SOON_RE.search(before + m.group(0)):
        return None
    when = "".join(whens)
    if "下个月" in when or "下月" in when:
        start = (found.replace(day=1) + timedelta(days=32)).replace(day=1)
    elif "后年" in when:
        start = date(found.year + 2, 9, 1)
    elif "明年" in when:
        start = date(found.year + 1, 9, 1)
    elif "下学期" in when:
        start = date(found.year + 1, 3, 1) if found.month >= 9 else date(found.year, 9, 1)
    else:  # 今年, 九月, 秋季, or just "准备上": the next autumn term
        start = date(found.year, 9, 1)
        if start < found:
            start = date(found.year + 1, 9, 1)
    return start, m.group("school")


def _school_starts(today: date, since: date) -> list[LifeEvent]:
    from .models import NeedsProfile

    found: dict[tuple[int, date], dict[str, Any]] = {}

    def note(cid: int, sentence: str, written: date, ref: str) -> None:
        hit = school_start(sentence, written)
        if hit is None or hit[0] < today:
            return
        start, school = hit
        found.setdefault((cid, start), {"school": school, "sentence": _sentence(sentence), "source": ref})

    for pk, cid, sentence, at in (Insight.objects.filter(intent="education", found_at__date__gte=since)
                                  .order_by("found_at", "id").values_list("id", "customer_id", "sentence", "found_at")):
        note(cid, sentence, timezone.localdate(at), f"insight:{pk}")
    for cid, notes, constraints, at in (NeedsProfile.objects.filter(recorded_at__date__gte=since)
                                        .values_list("customer_id", "notes", "constraints", "recorded_at")):
        for s in insights.split_sentences(f"{notes}。{constraints}"):
            note(cid, s, timezone.localdate(at), f"needs:{cid}")
    return [LifeEvent(customer_id=cid, kind=LifeEvent.Kind.SCHOOL, on_date=start, detail=detail,
                      key=f"school:{cid}:{start.isoformat()}") for (cid, start), detail in sorted(found.items())]


def life_events_sweep(*, today: date | None = None, now: datetime | None = None) -> dict[str, int]:
    """Create the upcoming life events (see the module docstring); returns how many of each kind were new."""
    now = now or timezone.now()
    today = today or timezone.localdate(now)
    birthday_days = params.value("engagement.birthday_window", at=now)
    maturity_days = params.value("engagement.maturity_window", at=now)
    threshold = params.value("engagement.large_inflow", at=now)
    candidates = [
        *_birthdays(today, birthday_days),
        *_deposit_maturities(today, maturity_days),
        *_wealth_maturities(today, maturity_days),
        *_large_inflows(now, threshold),
        *_school_starts(today, today - timedelta(days=365)),
    ]
    created: dict[str, int] = defaultdict(int)
    keys = [e.key for e in candidates]
    with transaction.atomic():
        known: set[str] = set()
        for n in range(0, len(keys), 500):  # bounded IN lists (SQLite's variable limit)
            known |= set(LifeEvent.objects.filter(key__in=keys[n:n + 500]).values_list("key", flat=True))
        new = [e for e in candidates if e.key not in known]
        if new:
            # a concurrent run: the unique key keeps one
            LifeEvent.objects.bulk_create(new, ignore_conflicts=True, batch_size=500)
            for e in new:
                created[e.kind] += 1
            audit.record(actor=None, verb="engagement.life_events_swept", target_type="engagement.LifeEvent",
                         target_repr=today.isoformat(), after={"day": today.isoformat(), **created})
    return {k: created.get(k, 0) for k in LifeEvent.Kind.values}
