"""Offline sentiment and keywords for customers' free-text answers, in pure Python.

General-purpose Chinese sentiment models misjudge bank language, so this one is trained on bank comments
(data/sentiment_zh.csv, labelled by hand): a multinomial Naive Bayes over character uni- and bi-grams plus the hits
of a small negation-aware lexicon ("不太满意" is negative, "没有不耐烦" positive). `manage.py surveys_train_sentiment`
trains it on the fixed training part (every row except each fourth) and writes data/sentiment_model.json
(deterministic); the held-out fourth measures it (`evaluate`)."""

from __future__ import annotations

import csv
import json
import math
import re
from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).resolve().parent / "data"
CSV_PATH = DATA_DIR / "sentiment_zh.csv"
MODEL_PATH = DATA_DIR / "sentiment_model.json"
LABELS = ("positive", "neutral", "negative")
ALPHA = 0.5
LEX_WEIGHT = 3

POSITIVE = (
    "满意", "专业", "耐心", "热情", "周到", "贴心", "细致", "细心", "及时", "高效", "清楚", "清晰", "靠谱", "放心", "感谢",
    "谢谢", "点赞", "好评", "表扬", "认可", "信任", "方便", "顺利", "顺畅", "好用", "快", "很好", "不错", "透明", "到位",
    "客气", "礼貌", "亲切", "舒服", "负责", "熟练", "实用", "肯定", "感动", "上心", "省心", "透彻", "一流", "麻利",
    "温和", "坦诚", "认真", "有序", "流畅", "优惠", "挺好",
)
NEGATIVE = (
    "不满", "失望", "差", "慢", "麻烦", "繁琐", "复杂", "敷衍", "恶劣", "冷漠", "傲慢", "不耐烦", "投诉", "误导", "被骗",
    "骗", "亏", "跌", "闪退", "卡住", "故障", "坏了", "太久", "太长", "太高", "太低", "太贵", "贵", "离谱", "没人", "白跑",
    "折腾", "拖", "推销", "搭售", "骚扰", "强行", "乱七八糟", "难用", "难看", "冲", "不舒服", "不尊重", "答非所问",
    "扣了", "扣费", "多扣", "吞卡", "冻结", "打不通", "不回", "没消息", "没有结果", "没结果", "办不了", "受不了", "烦",
    "吵", "错", "失败", "不明不白", "说不清", "讲不清", "没说", "没讲", "没有告知", "没有人", "没人理", "看不起",
    "爱答不理", "问题根本", "排了", "等了", "催",
)
NEGATORS = ("不是很", "不太", "不够", "不很", "不是", "没有", "没", "不", "毫无", "从来没有", "从不", "并不", "未", "无",
            "一点都不", "一点也不", "一点不")
KEYWORDS: dict[str, tuple[str, ...]] = {
    "排队": ("排队", "排了", "等了", "等候", "叫号", "取号", "窗口"),
    "手续费": ("手续费", "收费", "年费", "管理费", "扣费", "违约金", "提醒费"),
    "态度": ("态度", "耐心", "不耐烦", "热情", "冷漠", "傲慢", "客气", "礼貌", "脸色"),
    "APP": ("app", "手机银行", "网银", "闪退", "登录", "界面", "人脸识别"),
    "理财": ("理财", "基金", "净值", "收益", "赎回", "亏", "产品"),
    "客户经理": ("客户经理", "理财经理", "经理"),
    "柜面": ("柜员", "柜台", "窗口"),
    "效率": ("效率", "速度", "太慢", "很快", "拖", "两个小时", "一个小时"),
    "贷款": ("贷款", "房贷", "还贷", "审批"),
    "信用卡": ("信用卡", "分期", "额度", "积分"),
    "营销": ("推销", "搭售", "营销", "骚扰", "保险"),
    "客服热线": ("客服", "电话银行", "人工"),
    "自助设备": ("atm", "自助机", "智能柜台", "取号机"),
    "网点环境": ("环境", "座位", "停车", "大厅", "等候区"),
    "转账": ("转账", "汇款", "到账", "限额"),
}
_SPLIT = re.compile(r"[，。！？；、,.!?;…\s]+|但是|但|不过|可是|就是|结果")


def normalize(text: str) -> str:
    return (text or "").strip().lower()


def clauses(text: str) -> list[str]:
    return [c for c in _SPLIT.split(normalize(text)) if c]


_LEXICON = [(w, "+") for w in POSITIVE] + [(w, "-") for w in NEGATIVE]
_LEXICON.sort(key=lambda p: (-len(p[0]), p[0]))


def _negated(word: str, before: str) -> bool:
    """A negator just before the word flips it ("不太满意"); a negative compound is flipped only by 没(有)/并不
    ("没有不耐烦")."""
    if word.startswith(("不", "没")):
        return before.endswith(("没有", "没", "并不", "从不"))
    return before.endswith(NEGATORS)


def lexicon_hits(text: str) -> list[str]:
    """Polarity of each lexicon word found (longest match first, left to right, within a clause), flipped when a
    negator stands just before it in the same clause: '+', '-'."""
    hits: list[str] = []
    for clause in clauses(text):
        i = 0
        while i < len(clause):
            for word, pol in _LEXICON:
                if clause.startswith(word, i):
                    if _negated(word, clause[max(0, i - 4):i]):
                        pol = "-" if pol == "+" else "+"
                    hits.append(pol)
                    i += len(word)
                    break
            else:
                i += 1
    return hits


def features(text: str) -> list[str]:
    """Character uni- and bi-grams per clause, plus each lexicon hit (weighted) as 'L+' / 'L-'."""
    out: list[str] = []
    for clause in clauses(text):
        out.extend(clause)
        out.extend(clause[i:i + 2] for i in range(len(clause) - 1))
    for pol in lexicon_hits(text):
        out.extend(["L" + pol] * LEX_WEIGHT)
    return out


# ---- Training and prediction ---------------------------------------------------------------------------------------
def load_rows(path: Path = CSV_PATH) -> list[tuple[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return [(r["text"], r["label"]) for r in csv.DictReader(fh)]


def split(rows: list[tuple[str, str]]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The fixed split: every fourth row (index 3, 7, …) is held out (25 %); the CSV's order is fixed."""
    return [r for i, r in enumerate(rows) if i % 4 != 3], [r for i, r in enumerate(rows) if i % 4 == 3]


def train(rows: list[tuple[str, str]]) -> dict[str, Any]:
    counts = {lab: Counter() for lab in LABELS}
    docs = Counter(lab for _t, lab in rows)
    for text, lab in rows:
        counts[lab].update(features(text))
    vocab = sorted(set().union(*counts.values()))
    model: dict[str, Any] = {"kind": "multinomial_nb", "alpha": ALPHA, "labels": list(LABELS), "prior": {},
                             "unknown": {}, "logp": {}}
    for lab in LABELS:
        total = sum(counts[lab].values()) + ALPHA * len(vocab)
        model["prior"][lab] = round(math.log((docs[lab] + 1) / (len(rows) + len(LABELS))), 6)
        model["unknown"][lab] = round(math.log(ALPHA / total), 6)
        model["logp"][lab] = {f: round(math.log((counts[lab][f] + ALPHA) / total), 6) for f in vocab if counts[lab][f]}
    return model


def predict_with(model: dict[str, Any], text: str) -> str:
    feats = features(text)
    if not feats:
        return "neutral"
    known = set().union(*(model["logp"][lab].keys() for lab in model["labels"]))
    best, best_score = "neutral", -math.inf
    for lab in model["labels"]:
        table, unk = model["logp"][lab], model["unknown"][lab]
        score = model["prior"][lab] + sum(table.get(f, unk) for f in feats if f in known)
        if score > best_score:
            best, best_score = lab, score
    return best


def model_json(model: dict[str, Any]) -> str:
    return json.dumps(model, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n"


@lru_cache(maxsize=1)
def _shipped() -> dict[str, Any]:
    return json.loads(MODEL_PATH.read_text(encoding="utf-8"))


def predict(text: str) -> str:
    """positive / neutral / negative for a customer's comment (the shipped model); '' for no text."""
    if not normalize(text):
        return ""
    return predict_with(_shipped(), text)


def keywords(text: str) -> list[str]:
    """Bank-domain topics the comment mentions (排队, 手续费, 态度, APP, 理财…), in the lexicon's order."""
    t = normalize(text)
    return [tag for tag, words in KEYWORDS.items() if any(w in t for w in words)]


def evaluate(model: dict[str, Any], rows: list[tuple[str, str]]) -> dict[str, Any]:
    """Precision and recall per class, accuracy and the confusion counts on ``rows``."""
    pairs = [(lab, predict_with(model, text)) for text, lab in rows]
    out: dict[str, Any] = {"n": len(rows), "accuracy": round(sum(a == p for a, p in pairs) / max(1, len(rows)), 4)}
    for lab in LABELS:
        tp = sum(a == lab and p == lab for a, p in pairs)
        predicted = sum(p == lab for _a, p in pairs)
        actual = sum(a == lab for a, _p in pairs)
        out[lab] = {"precision": round(tp / predicted, 4) if predicted else 0.0,
                    "recall": round(tp / actual, 4) if actual else 0.0, "support": actual}
    out["errors"] = [(text, lab, p) for (text, lab), (_a, p) in zip(rows, pairs, strict=True) if lab != p]
    return out
