"""Train the propensity model offline on the bank's own history and print its held-out figures as JSON (model AUC
against the popularity baselines). ``--segments`` first recomputes the segments and the cluster model (the model
uses the clusters as features); ``--refresh`` afterwards refreshes every customer's recommendations."""

import json

from django.core.management.base import BaseCommand

from bankcrm.core import context


class Command(BaseCommand):
    help = "Train the propensity model (offline, deterministic for a seed) and print its figures as JSON."

    def add_arguments(self, parser):
        from bankcrm.engagement.propensity import SEED

        parser.add_argument("--seed", type=int, default=SEED)
        parser.add_argument("--segments", action="store_true", help="recompute segments and the cluster model first")
        parser.add_argument("--refresh", action="store_true", help="refresh every customer's recommendations after")

    def handle(self, *args, **opts):
        from django.db import transaction

        from bankcrm.engagement import nba, propensity, segments

        out = {}
        with context.channel("command"):
            if opts["segments"]:
                with transaction.atomic(durable=True):
                    s = segments.segments_compute(seed=opts["seed"])
                out["segments"] = {"customers": s["customers"], "cluster_model": s["cluster_model"],
                                   "labels": s["labels"]}
            with transaction.atomic(durable=True):
                m = propensity.propensity_train(seed=opts["seed"])
            out["model"] = propensity.model_figures(m)
            if opts["refresh"]:
                r = nba.recommendations_refresh()
                out["recommendations"] = {k: r[k] for k in ("customers", "created", "updated", "expired")}
        self.stdout.write(json.dumps(out, ensure_ascii=False, indent=2, default=str))
