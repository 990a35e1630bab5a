"""Insight from Chinese free text (interaction notes, complaints, survey comments), offline and pure: no database.

The pipeline for one text:

1. **Sentences and clauses.** Sentences end at 。！？；… or a line break; clauses split at commas, colons, brackets and
   contrast words (但是、不过…), because a negation or a third person rarely reaches over a comma.
2. **Tokens.** Each clause is cut with jieba (a private ``jieba.Tokenizer``, so the bundled dictionary stays local and
   the global tokenizer is untouched) after adding the intent words, negators and stop phrases of the dictionary, so
   that "不少" or "不错" are one token and never read as the negator "不".
3. **Intent words.** Each intent of the maintained dictionary (``data/intents.json``) has keywords (found as they are)
   and phrases ("买…房": up to six characters between the parts, within one clause; "(甲|乙)": either). Stop phrases
   that only look like an intent ("理财经理", "保险箱", "存款证明") are masked first.
4. **What is not the customer's intent.** A hit is dropped when a negator token stands shortly before it in the
   clause ("暂时没有买房打算", "不需要保险") and is not merely descriptive ("不太懂理财" still counts); when a refusal
   follows it ("保险就算了", "理财暂时不考虑"); when a staff offer in the clause is refused in the next one
   ("推荐了养老理财，客户说不需要"); when it is about someone outside the household ("同事的孩子去澳洲留学"), unless
   the customer wants the same ("…客户也想了解"); and when the sentence says the customer has no such need himself
   ("客户本人没有新的需求"). Dropped hits are kept in the analysis with their reason, for transparency.
5. **Keywords and sentiment.** Keywords are the intent words found plus TF-IDF terms (jieba's bundled IDF table);
   sentiment of each sentence and of the whole text comes from the surveys app's bank-trained model
   (``bankcrm.surveys.sentiment``), reused, not duplicated.

The labelled notes (``data/notes_labelled.csv``, written for this product) measure the dictionary: its ``part`` column
holds every fourth row out (``heldout``); ``evaluate`` gives precision and recall per intent and micro-averaged
(``manage.py engagement_intents_eval``). Tune the dictionary on the ``train`` part only.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).resolve().parent / "data"
DICTIONARY_PATH = DATA_DIR / "intents.json"
NOTES_PATH = DATA_DIR / "notes_labelled.csv"

MAX_TEXT = 20_000
GAP = 6  # characters a phrase's "…" may span
_CLAUSE_PUNCT = "，,：:（）()“”\"‘’'《》<>【】[]—～~"
_GAP_CLASS = r"[^，,：:（）()“”\"。！？!?；;\n]"
_SENTENCE_RE = re.compile(r"[^。！？!?；;…\n\r]+[。！？!?；;…]*")
_CLAUSE_SPLIT = re.compile(r"[，,：:（）()“”\"‘’《》【】\[\]—～~\s]+|但是|但|不过|可是|然而|而是")
_CONTRAST = ("但是", "但", "不过", "可是", "然而", "而是")
_DEGREE = ("是很", "是太", "太", "很", "大", "怎么", "是", "算", "够")
_CODE_RE = re.compile(r"^[a-z][a-z_]{1,19}$")
_TEXT_FIELDS = ("negators", "non_negated", "post_negators", "offer_cues", "refusals", "third_party", "self_cues",
                "also_cues", "stop_phrases")
_A_NOT_A = re.compile(r"(.)(?:不|没)\1|需不需|用不用")  # 要不要, 是不是, 有没有, 需不需要: questions, not negations
PRODUCT_KINDS = ("wealth", "fund", "insurance", "deposit")  # wealth.WealthProduct.Kind
SENTIMENT_CODES = {"positive": "pos", "neutral": "neu", "negative": "neg", "": "neu"}
_KEYWORD_STOP = frozenset("""客户 经理 客户经理 网点 银行 我行 他行 问 想 说 表示 了解 咨询 一下 一点 一些 一笔 时候 现在 今天 明天
下周 本次 这次 上次 之前 以后 已经 可以 能不能 有没有 怎么 什么 多少 需要 打算 准备 考虑 没有 不是 还是 比较 觉得 希望 问题 情况
事情 办理 业务 电话 微信 回访 上门 拜访 面谈 沟通 联系 要求 提醒 推荐 介绍 他们 我们 自己 本人 家里""".split())
_TFIDF_POS = ("n", "nz", "nt", "ns", "vn", "v", "eng")


class DictionaryError(ValueError):
    """The dictionary does not validate; ``fields`` maps a path ("intents[2].keywords") to Chinese messages."""

    def __init__(self, fields: dict[str, list[str]]):
        self.fields = fields
        super().__init__("; ".join(f"{k}: {'；'.join(v)}" for k, v in fields.items()))


@dataclass(frozen=True)
class IntentDef:
    code: str
    label: str
    label_en: str
    goal: str
    product_kinds: tuple[str, ...]
    keywords: tuple[str, ...]
    phrases: tuple[str, ...]
    stop_phrases: tuple[str, ...] = ()
    yields_to: tuple[str, ...] = ()
    patterns: tuple[re.Pattern, ...] = field(repr=False, compare=False, default=())
    stop_re: re.Pattern | None = field(repr=False, compare=False, default=None)


@dataclass(frozen=True)
class Dictionary:
    """A compiled dictionary. ``digest`` identifies its content (the jieba tokenizer is cached per digest)."""

    version: int
    intents: tuple[IntentDef, ...]
    matching: dict[str, Any]
    raw: dict[str, Any] = field(repr=False, compare=False)
    digest: str = ""
    stop_re: re.Pattern | None = field(repr=False, compare=False, default=None)
    blocker_res: tuple[re.Pattern, ...] = field(repr=False, compare=False, default=())

    def get(self, code: str) -> IntentDef | None:
        return next((i for i in self.intents if i.code == code), None)

    @property
    def codes(self) -> list[str]:
        return [i.code for i in self.intents]

    def label(self, code: str) -> str:
        i = self.get(code)
        return i.label if i else code


# ---- Dictionary: validation and compilation ------------------------------------------------------------------------
def pattern_regex(phrase: str) -> str:
    """A dictionary phrase as a regular expression: "…" is a gap of up to ``GAP`` characters inside one clause,
    "(甲|乙)" an alternative; every other character is literal."""
    out, i = [], 0
    while i < len(phrase):
        ch = phrase[i]
        if ch == "…":
            out.append(f"{_GAP_CLASS}{{0,{GAP}}}?")
        elif ch == "(":
            j = phrase.find(")", i)
            if j < 0:
                raise ValueError("unclosed (")
            options = [o for o in phrase[i + 1:j].split("|")]
            if not all(options) or any(c in o for o in options for c in "()…"):
                raise ValueError("bad alternative")
            out.append("(?:" + "|".join(re.escape(o) for o in options) + ")")
            i = j + 1
            if i < len(phrase) and phrase[i] == "?":
                out.append("?")
                i += 1
            continue
        elif ch in ")|":
            raise ValueError("stray ) or |")
        else:
            out.append(re.escape(ch))
        i += 1
    return "".join(out)


def _strings(value: Any, path: str, errors: dict[str, list[str]], *, max_len: int = 40, required: bool = False,
             patterns: bool = False) -> tuple[str, ...]:
    if value is None and not required:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        errors.setdefault(path, []).append("必须是字符串列表")
        return ()
    out = []
    for v in value:
        v = v.strip()
        if not v:
            errors.setdefault(path, []).append("不能包含空字符串")
        elif len(v) > max_len:
            errors.setdefault(path, []).append(f"“{v[:12]}…”过长（最多{max_len}个字）")
        else:
            if patterns:
                try:
                    re.compile(pattern_regex(v))
                except (ValueError, re.error):
                    errors.setdefault(path, []).append(f"“{v}”不是有效的短语模式（括号须成对，选项用“|”分隔）")
                    continue
            out.append(v)
    if required and not out:
        errors.setdefault(path, []).append("至少需要一个")
    if len(set(out)) != len(out):
        errors.setdefault(path, []).append("有重复项")
    return tuple(out)


def compile_dictionary(data: Any) -> Dictionary:
    """Validate a dictionary document (the shape of ``data/intents.json``) and compile it; raises DictionaryError
    naming every bad field."""
    errors: dict[str, list[str]] = {}
    if not isinstance(data, dict):
        raise DictionaryError({"": ["词典必须是 JSON 对象"]})
    version = data.get("version", 1)
    if not isinstance(version, int) or version < 1:
        errors.setdefault("version", []).append("版本号必须是正整数")
        version = 1
    matching_in = data.get("matching") or {}
    if not isinstance(matching_in, dict):
        errors.setdefault("matching", []).append("必须是 JSON 对象")
        matching_in = {}
    matching: dict[str, Any] = {}
    for name in _TEXT_FIELDS:
        matching[name] = _strings(matching_in.get(name, []), f"matching.{name}", errors, patterns=name == "stop_phrases")
    matching["sentence_blockers"] = _strings(matching_in.get("sentence_blockers", []), "matching.sentence_blockers",
                                             errors, max_len=80, patterns=True)
    for name, default, hi in (("negator_window", 6, 20), ("post_window", 10, 40)):
        val = matching_in.get(name, default)
        if not isinstance(val, int) or not 1 <= val <= hi:
            errors.setdefault(f"matching.{name}", []).append(f"必须是1到{hi}之间的整数")
            val = default
        matching[name] = val
    intents_in = data.get("intents")
    intents: list[IntentDef] = []
    if not isinstance(intents_in, list) or not intents_in:
        errors.setdefault("intents", []).append("至少需要一个意图")
        intents_in = []
    seen: set[str] = set()
    for n, item in enumerate(intents_in):
        p = f"intents[{n}]"
        if not isinstance(item, dict):
            errors.setdefault(p, []).append("必须是 JSON 对象")
            continue
        code = item.get("code")
        if not isinstance(code, str) or not _CODE_RE.match(code):
            errors.setdefault(f"{p}.code", []).append("代码须为2–20位小写英文字母或下划线")
            code = f"_{n}"
        elif code in seen:
            errors.setdefault(f"{p}.code", []).append(f"代码“{code}”重复")
        seen.add(code)
        texts = {}
        for key, max_len, required in (("label", 10, True), ("label_en", 40, True), ("goal", 20, False)):
            val = item.get(key, "")
            if not isinstance(val, str) or (required and not val.strip()) or len(val) > max_len:
                errors.setdefault(f"{p}.{key}", []).append(f"必填，最多{max_len}个字符" if required else f"最多{max_len}个字符")
                val = ""
            texts[key] = val.strip()
        if texts["goal"] and texts["goal"] not in _goal_codes():
            errors.setdefault(f"{p}.goal", []).append(f"需求目标须为以下之一：{'、'.join(_goal_codes())}")
        kinds = _strings(item.get("product_kinds", []), f"{p}.product_kinds", errors, max_len=20)
        bad_kinds = [k for k in kinds if k not in PRODUCT_KINDS]
        if bad_kinds:
            errors.setdefault(f"{p}.product_kinds", []).append(
                f"产品类型须为 {'、'.join(PRODUCT_KINDS)} 之一：{'、'.join(bad_kinds)}")
        keywords = _strings(item.get("keywords"), f"{p}.keywords", errors, required=True)
        bad = [k for k in keywords if any(c in k for c in "…()|")]
        if bad:
            errors.setdefault(f"{p}.keywords", []).append(f"关键词不能含“…”或括号（请放入短语）：{'、'.join(bad)}")
        phrases = _strings(item.get("phrases", []), f"{p}.phrases", errors, max_len=160, patterns=True)
        stops = _strings(item.get("stop_phrases", []), f"{p}.stop_phrases", errors, patterns=True)
        yields = _strings(item.get("yields_to", []), f"{p}.yields_to", errors, max_len=20)
        intents.append(IntentDef(code=code, label=texts["label"], label_en=texts["label_en"], goal=texts["goal"],
                                 product_kinds=kinds, keywords=keywords, phrases=phrases, stop_phrases=stops,
                                 yields_to=yields))
    codes = {i.code for i in intents}
    for n, it in enumerate(intents):
        unknown = [c for c in it.yields_to if c not in codes or c == it.code]
        if unknown:
            errors.setdefault(f"intents[{n}].yields_to", []).append(f"未知的意图代码：{'、'.join(unknown)}")
    if errors:
        raise DictionaryError(errors)
    compiled = []
    for it in intents:
        words = sorted(it.keywords, key=len, reverse=True)
        pats = [re.compile("|".join(re.escape(w.lower()) for w in words))] if words else []
        pats += [re.compile(pattern_regex(ph.lower())) for ph in it.phrases]
        own_stop = (re.compile("|".join(pattern_regex(x.lower()) for x in sorted(it.stop_phrases, key=len, reverse=True)))
                    if it.stop_phrases else None)
        compiled.append(IntentDef(**{**it.__dict__, "patterns": tuple(pats), "stop_re": own_stop}))
    stops = sorted(matching["stop_phrases"], key=len, reverse=True)
    stop_re = re.compile("|".join(pattern_regex(s.lower()) for s in stops)) if stops else None
    blockers = tuple(re.compile(pattern_regex(b)) for b in matching["sentence_blockers"])
    canonical = json.dumps(data, ensure_ascii=False, sort_keys=True)
    return Dictionary(version=version, intents=tuple(compiled), matching=matching, raw=data,
                      digest=hashlib.sha256(canonical.encode()).hexdigest()[:16], stop_re=stop_re, blocker_res=blockers)


def _goal_codes() -> tuple[str, ...]:
    from .rules import GOAL_CODES  # the needs profile's fixed goals

    return tuple(GOAL_CODES)


def dump_dictionary(data: dict[str, Any]) -> str:
    """The dictionary as the maintained file writes it: two-space indent, each list of words on one line."""
    def block(value: Any, indent: int) -> str:
        pad = " " * indent
        if isinstance(value, dict):
            inner = ",\n".join(f"{pad}  {json.dumps(k, ensure_ascii=False)}: {block(v, indent + 2)}" for k, v in value.items())
            return "{\n" + inner + f"\n{pad}}}" if value else "{}"
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            inner = ",\n".join(f"{pad}  {block(v, indent + 2)}" for v in value)
            return "[\n" + inner + f"\n{pad}]"
        return json.dumps(value, ensure_ascii=False)

    return block(data, 0) + "\n"


def validate(data: Any) -> dict[str, list[str]]:
    """The field errors of a dictionary document ({} when it is valid)."""
    try:
        compile_dictionary(data)
    except DictionaryError as exc:
        return exc.fields
    return {}


def read_dictionary(path: Path = DICTIONARY_PATH) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def shipped() -> Dictionary:
    """The dictionary maintained in the repository (``data/intents.json``)."""
    return compile_dictionary(read_dictionary())


# ---- Tokens ---------------------------------------------------------------------------------------------------------
_TOKENIZERS: dict[str, Any] = {}
_TOKENIZER_LOCK = threading.Lock()


def tokenizer(d: Dictionary) -> Any:
    """A private jieba tokenizer that knows the dictionary's words (one per dictionary content, built lazily)."""
    tok = _TOKENIZERS.get(d.digest)
    if tok is not None:
        return tok
    with _TOKENIZER_LOCK:
        tok = _TOKENIZERS.get(d.digest)
        if tok is None:
            import jieba

            jieba.setLogLevel(logging.WARNING)
            tok = jieba.Tokenizer()
            tok.initialize()
            m = d.matching
            words = {w.lower() for i in d.intents for w in (*i.keywords, *i.stop_phrases)}
            words |= {w for w in (*m["negators"], *m["third_party"], *m["self_cues"], *m["also_cues"],
                                  *m["refusals"], *m["post_negators"], *m["offer_cues"]) if len(w) > 1}
            words |= {s.lower() for s in m["stop_phrases"]}
            for w in sorted(words):
                if not any(c in w for c in "…()|") and not tok.FREQ.get(w):
                    tok.add_word(w)  # jieba suggests the frequency that keeps the new word whole
            if len(_TOKENIZERS) > 3:  # dictionaries rarely change; keep a few
                _TOKENIZERS.clear()
            _TOKENIZERS[d.digest] = tok
    return tok


def tokens_with_offsets(d: Dictionary, clause: str) -> list[tuple[str, int, int]]:
    return [(w, s, e) for w, s, e in tokenizer(d).tokenize(clause)]


# ---- Splitting ------------------------------------------------------------------------------------------------------
def normalize(text: str) -> str:
    """Lower-case ASCII only (offsets stay those of the original text); trims; bounded length."""
    text = (text or "")[:MAX_TEXT]
    return "".join(c.lower() if c.isascii() else c for c in text)


def split_sentences(text: str) -> list[str]:
    """Sentences of a note, trimmed, punctuation kept (what the insight shows)."""
    return [s.strip() for s in _SENTENCE_RE.findall(text or "") if s.strip(" \t，,")]


def clause_spans(sentence: str) -> list[tuple[int, int]]:
    """(start, end) of each clause of a sentence; contrast words and clause punctuation separate them."""
    spans, start = [], 0
    for m in _CLAUSE_SPLIT.finditer(sentence):
        if m.start() > start:
            spans.append((start, m.start()))
        start = m.end()
    if start < len(sentence):
        spans.append((start, len(sentence)))
    return spans


# ---- Analysis -------------------------------------------------------------------------------------------------------
@dataclass
class Hit:
    intent: str
    label: str
    keyword: str
    sentence_index: int
    start: int  # offsets in the sentence
    end: int
    clause: int
    dropped: str = ""  # "", "negated", "refused", "third_party", "not_self", "yielded"

    @property
    def accepted(self) -> bool:
        return not self.dropped


@dataclass
class Analysis:
    text: str
    sentences: list[str]
    sentence_sentiments: list[str]
    hits: list[Hit]
    keywords: list[str]
    topics: list[str]
    sentiment: str
    dictionary_version: int

    @property
    def intents(self) -> list[str]:
        """Accepted intents, in order of first appearance."""
        out: list[str] = []
        for h in self.hits:
            if h.accepted and h.intent not in out:
                out.append(h.intent)
        return out

    def first_hits(self) -> list[Hit]:
        """The first accepted hit of each intent (what an Insight row keeps)."""
        seen: dict[str, Hit] = {}
        for h in self.hits:
            if h.accepted and h.intent not in seen:
                seen[h.intent] = h
        return list(seen.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "dictionary_version": self.dictionary_version,
            "sentiment": self.sentiment,
            "keywords": self.keywords,
            "topics": self.topics,
            "intents": [{"intent": h.intent, "label": h.label, "keyword": h.keyword, "sentence": self.sentences[h.sentence_index],
                         "sentence_index": h.sentence_index, "start": h.start, "end": h.end,
                         "sentiment": self.sentence_sentiments[h.sentence_index]} for h in self.first_hits()],
            "dropped": [{"intent": h.intent, "label": h.label, "keyword": h.keyword, "reason": h.dropped,
                         "sentence": self.sentences[h.sentence_index]} for h in self.hits if not h.accepted],
            "sentences": [{"index": i, "text": s, "sentiment": self.sentence_sentiments[i]}
                          for i, s in enumerate(self.sentences)],
        }


def _mask(regex: re.Pattern | None, text: str, masked: list[bool]) -> None:
    if regex is not None:
        for m in regex.finditer(text):
            for k in range(m.start(), m.end()):
                masked[k] = True


def _candidates(d: Dictionary, sentence: str, s_index: int, spans: list[tuple[int, int]]) -> list[Hit]:
    low = normalize(sentence)
    masked = [False] * len(low)
    _mask(d.stop_re, low, masked)
    hits: list[Hit] = []
    for it in d.intents:
        own = list(masked)
        _mask(it.stop_re, low, own)
        found: list[tuple[int, int]] = []
        for pat in it.patterns:
            for m in pat.finditer(low):
                s, e = m.start(), m.end()
                if e <= s or any(own[s:e]):
                    continue
                clause = next((n for n, (a, b) in enumerate(spans) if a <= s and e <= b), None)
                if clause is None:
                    continue
                if any(not (e <= fs or s >= fe) for fs, fe in found):
                    continue  # overlaps a hit of the same intent already found (keywords first, longest first)
                found.append((s, e))
                hits.append(Hit(it.code, it.label, sentence[s:e], s_index, s, e, clause))
    hits.sort(key=lambda h: (h.start, -h.end))
    return hits


def _negator_tokens(d: Dictionary, clause_text: str, upto: int) -> list[tuple[str, int, int]]:
    """Tokens of ``clause_text[:upto]`` that negate what follows: A-not-A questions (要不要, 有没有) are masked first,
    and a negator followed by a merely descriptive word ("不太懂", "不高") does not count."""
    m = d.matching
    text = _A_NOT_A.sub(lambda x: "吗" * len(x.group(0)), clause_text[:upto])
    negators = set(m["negators"])
    out = []
    for word, s, e in tokens_with_offsets(d, text):
        if word not in negators:
            continue
        rest = text[e:]
        for deg in _DEGREE:
            if rest.startswith(deg) and len(rest) > len(deg):
                rest = rest[len(deg):]
                break
        if not any(rest.startswith(w) for w in m["non_negated"]):
            out.append((word, s, e))
    return out


def _negated_before(d: Dictionary, clause_text: str, rel_start: int, rel_end: int) -> bool:
    """A negator among the last few tokens before the hit, or inside a phrase hit ("公司暂时不需要贷款")."""
    window = d.matching["negator_window"]
    toks = [t for t in tokens_with_offsets(d, clause_text[:rel_start]) if t[0].strip() and t[0] not in "、/和及与或"]
    first = toks[-window][1] if len(toks) >= window else 0
    return any(s >= first for _w, s, _e in _negator_tokens(d, clause_text, rel_end))


def _negated_after(d: Dictionary, clause_text: str, rel_end: int) -> bool:
    after = _A_NOT_A.sub(lambda x: "吗" * len(x.group(0)), clause_text[rel_end:rel_end + d.matching["post_window"]])
    return any(w in after for w in d.matching["post_negators"])


def _judge(d: Dictionary, sentence: str, spans: list[tuple[int, int]], hits: list[Hit]) -> None:
    m = d.matching
    low = normalize(sentence)
    clauses = [low[a:b] for a, b in spans]
    for h in hits:
        a, _b = spans[h.clause]
        text = clauses[h.clause]
        if _negated_before(d, text, h.start - a, h.end - a) or _negated_after(d, text, h.end - a):
            h.dropped = "negated"
            continue
        # Someone outside the household named earlier in the sentence, with no return to the customer in between
        # ("客户说她妹妹开了个美容店，经营贷在别的银行办了"), unless the customer wants the same ("客户也想…").
        before = low[:h.start]
        cue = max((before.rfind(w) + len(w) for w in m["third_party"] if w in before), default=-1)
        if cue >= 0 and not any(c in before[cue:] for c in m["self_cues"]):
            if not any(c in low[before.rfind("，", 0, cue) + 1:] for c in m["also_cues"]):
                h.dropped = "third_party"
    # A staff offer refused in the next clause ("推荐了…，客户说不需要") drops the offer's hits.
    for n, text in enumerate(clauses[:-1]):
        nxt = clauses[n + 1]
        own = [h for h in hits if h.clause == n + 1 and h.accepted]
        if any(c in text for c in m["offer_cues"]) and any(r in nxt for r in m["refusals"]) and not own:
            for h in hits:
                if h.clause == n and h.accepted:
                    h.dropped = "refused"
    # "客户本人没有新的需求": what the sentence says is about others, or not wanted — unless a contrast follows.
    for rx in d.blocker_res:
        bm = rx.search(low)
        if bm is None:
            continue
        for h in hits:
            if h.accepted and not (h.start >= bm.end() and any(c in low[bm.end():h.start] for c in _CONTRAST)):
                h.dropped = "not_self"


def _yield(d: Dictionary, hits: list[Hit]) -> None:
    """An intent that yields to another (子女教育 → 留学) is dropped when the other is found in the same text: the
    tuition of a child studying abroad is the study-abroad need."""
    accepted = {h.intent for h in hits if h.accepted}
    for h in hits:
        it = d.get(h.intent)
        if h.accepted and it is not None and accepted.intersection(it.yields_to):
            h.dropped = "yielded"


_TFIDFS: dict[str, Any] = {}


def _tfidf(d: Dictionary) -> Any:
    """jieba's TF-IDF extractor (its bundled IDF table) cutting with this dictionary's tokenizer; one per dictionary,
    so concurrent requests never swap each other's tokenizer."""
    tf = _TFIDFS.get(d.digest)
    if tf is None:
        import jieba.analyse
        import jieba.posseg

        tok = tokenizer(d)
        with _TOKENIZER_LOCK:
            tf = jieba.analyse.TFIDF()
            tf.tokenizer = tok
            tf.postokenizer = jieba.posseg.POSTokenizer(tok)
            if len(_TFIDFS) > 3:
                _TFIDFS.clear()
            _TFIDFS[d.digest] = tf
    return tf


def extract_keywords(d: Dictionary, text: str, found: Iterable[str], *, limit: int = 8) -> list[str]:
    """Intent words found, then TF-IDF terms of the text (nouns and verbs), without staff boilerplate."""
    out: list[str] = []
    for w in found:
        if w not in out:
            out.append(w)
    tf = _tfidf(d)
    try:
        tags = tf.extract_tags(normalize(text), topK=limit * 2, allowPOS=_TFIDF_POS)
    except Exception:  # keywords are a convenience: never fail an extraction for them
        tags = []
    for t in tags:
        if len(out) >= limit:
            break
        if len(t) > 1 and t not in _KEYWORD_STOP and not t.isdigit() and t not in out:
            out.append(t)
    return out[:limit]


def sentiment_of(text: str) -> str:
    """pos / neu / neg (the Insight codes) from the surveys app's bank-trained model."""
    from bankcrm.surveys import sentiment

    return SENTIMENT_CODES.get(sentiment.predict(text), "neu")


def analyze(text: str, dictionary: Dictionary | None = None, *, with_keywords: bool = True) -> Analysis:
    """Intents (with the sentence and span each came from), dropped hits with their reason, keywords, topics and
    sentiment (``pos``/``neu``/``neg``, per sentence and overall) of a free text."""
    from bankcrm.surveys import sentiment

    d = dictionary or shipped()
    text = (text or "")[:MAX_TEXT]
    sentences = split_sentences(text)
    hits: list[Hit] = []
    for n, s in enumerate(sentences):
        spans = clause_spans(s)
        found = _candidates(d, s, n, spans)
        _judge(d, s, spans, found)
        hits.extend(found)
    _yield(d, hits)
    moods = [sentiment_of(s) for s in sentences] if with_keywords else ["neu"] * len(sentences)
    accepted = [h.keyword for h in hits if h.accepted]
    return Analysis(
        text=text, sentences=sentences, sentence_sentiments=moods, hits=hits,
        keywords=extract_keywords(d, text, accepted) if with_keywords and text.strip() else [],
        topics=sentiment.keywords(text) if with_keywords else [],
        sentiment=sentiment_of(text) if with_keywords and text.strip() else "neu",
        dictionary_version=d.version)


def detect(text: str, dictionary: Dictionary | None = None) -> list[str]:
    """Just the accepted intent codes (what the evaluation compares)."""
    return analyze(text, dictionary, with_keywords=False).intents


# ---- The labelled notes and the evaluation ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Note:
    id: int
    part: str  # "train" or "heldout"
    channel: str
    intents: frozenset[str]
    tags: tuple[str, ...]
    text: str


def load_notes(path: Path = NOTES_PATH) -> list[Note]:
    with path.open(encoding="utf-8", newline="") as fh:
        return [Note(int(r["id"]), r["part"], r["channel"], frozenset(c for c in r["intents"].split("|") if c),
                     tuple(t for t in r["tags"].split("|") if t), r["text"]) for r in csv.DictReader(fh)]


def _ratio(a: int, b: int) -> float:
    return round(a / b, 4) if b else 0.0


def evaluate(notes: list[Note], dictionary: Dictionary | None = None, *, errors: bool = False) -> dict[str, Any]:
    """Precision, recall and F1 per intent and micro-averaged (plus macro F1) of the dictionary on ``notes``."""
    d = dictionary or shipped()
    per = {code: {"tp": 0, "fp": 0, "fn": 0} for code in d.codes}
    mistakes = []
    exact = 0
    for note in notes:
        got = set(detect(note.text, d))
        exact += got == set(note.intents)
        for code in per:
            if code in got and code in note.intents:
                per[code]["tp"] += 1
            elif code in got:
                per[code]["fp"] += 1
            elif code in note.intents:
                per[code]["fn"] += 1
        if errors and got != set(note.intents):
            mistakes.append({"id": note.id, "text": note.text, "expected": sorted(note.intents), "got": sorted(got)})
    out: dict[str, Any] = {"notes": len(notes), "exact_match": _ratio(exact, len(notes)), "per_intent": {}}
    for code, c in per.items():
        p, r = _ratio(c["tp"], c["tp"] + c["fp"]), _ratio(c["tp"], c["tp"] + c["fn"])
        out["per_intent"][code] = {"label": d.label(code), "precision": p, "recall": r,
                                   "f1": round(2 * p * r / (p + r), 4) if p + r else 0.0,
                                   "support": c["tp"] + c["fn"], **c}
    tp, fp, fn = (sum(c[k] for c in per.values()) for k in ("tp", "fp", "fn"))
    p, r = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    out["micro"] = {"precision": p, "recall": r, "f1": round(2 * p * r / (p + r), 4) if p + r else 0.0,
                    "tp": tp, "fp": fp, "fn": fn}
    f1s = [v["f1"] for v in out["per_intent"].values() if v["support"]]
    out["macro_f1"] = round(sum(f1s) / len(f1s), 4) if f1s else 0.0
    if errors:
        out["errors"] = mistakes
    return out


def evaluate_split(dictionary: Dictionary | None = None, *, errors: bool = False) -> dict[str, Any]:
    notes = load_notes()
    d = dictionary or shipped()
    return {"dictionary_version": d.version, "dictionary_digest": d.digest,
            "heldout": evaluate([n for n in notes if n.part == "heldout"], d, errors=errors),
            "train": evaluate([n for n in notes if n.part == "train"], d, errors=errors)}
