"""Measure the intent dictionary (data/intents.json) on the labelled notes (data/notes_labelled.csv): precision, recall
and F1 per intent and micro-averaged, on the fixed held-out part (every fourth note) and on the training part, as
JSON. Offline and deterministic. ``--active`` measures the dictionary in force instead (an administrator's saved
version, if any). ``--errors`` lists the notes where the detected intents differ from the labels;
``--min`` exits 1 when held-out micro precision or recall falls below it (for CI)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand

from bankcrm.engagement import insights


class Command(BaseCommand):
    help = "评估客户意图词典：标注样本集留出部分与训练部分的逐意图准确率、召回率（JSON 输出）"

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--part", choices=["heldout", "train", "both"], default="both")
        parser.add_argument("--errors", action="store_true", help="列出识别结果与标注不一致的样本")
        parser.add_argument("--active", action="store_true", help="评估当前生效的词典（管理员保存的版本），默认评估代码库文件")
        parser.add_argument("--min", type=float, default=None, help="留出集微平均准确率或召回率低于此值时以 1 退出")

    def handle(self, *args: Any, part: str = "both", errors: bool = False, min: float | None = None,
               active: bool = False, **options: Any) -> None:
        dictionary = None
        if active:
            from bankcrm.engagement.insight_services import active_dictionary

            dictionary = active_dictionary()
        result = insights.evaluate_split(dictionary, errors=errors)
        out = {k: v for k, v in result.items() if part == "both" or k not in {"heldout", "train"} or k == part}
        self.stdout.write(json.dumps(out, ensure_ascii=False, indent=2))
        if min is not None:
            micro = result["heldout"]["micro"]
            if micro["precision"] < min or micro["recall"] < min:
                self.stderr.write(f"held-out micro precision {micro['precision']} / recall {micro['recall']} < {min}")
                raise SystemExit(1)
