"""Train the survey comment sentiment model from data/sentiment_zh.csv (the fixed training part) and write
data/sentiment_model.json; prints the held-out precision and recall per class. Deterministic: same CSV, same file."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from bankcrm.surveys import sentiment


class Command(BaseCommand):
    help = "训练满意度评语情感模型（离线，纯 Python）并写出 JSON 模型文件"

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--check", action="store_true", help="只检查已提交的模型文件是否与 CSV 一致")

    def handle(self, *args: Any, check: bool = False, **options: Any) -> None:
        rows = sentiment.load_rows()
        train, held_out = sentiment.split(rows)
        model = sentiment.train(train)
        text = sentiment.model_json(model)
        if check:
            same = sentiment.MODEL_PATH.exists() and sentiment.MODEL_PATH.read_text(encoding="utf-8") == text
            self.stdout.write("模型文件与数据一致" if same else "模型文件已过期：请重新运行 surveys_train_sentiment")
            if not same:
                raise SystemExit(1)
        else:
            sentiment.MODEL_PATH.write_text(text, encoding="utf-8")
            self.stdout.write(f"已写出 {sentiment.MODEL_PATH.name}：训练 {len(train)} 条，留出 {len(held_out)} 条")
        ev = sentiment.evaluate(model, held_out)
        for lab in sentiment.LABELS:
            m = ev[lab]
            self.stdout.write(f"  {lab:9s} precision {m['precision']:.3f} recall {m['recall']:.3f} (n={m['support']})")
        self.stdout.write(f"  accuracy {ev['accuracy']:.3f}")
