"""Enqueue due periodic jobs once per slot; loop forever (or once with --once). Run beside `db_worker`."""

import time

from django.core.management.base import BaseCommand

from bankcrm.core import scheduling


class Command(BaseCommand):
    help = "Periodic job scheduler: enqueues each due slot exactly once (safe to run twice or restart)."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true")
        parser.add_argument("--interval", type=int, default=30)

    def handle(self, *args, **opts):
        while True:
            started = scheduling.enqueue_due()
            if started:
                self.stdout.write(f"enqueued: {', '.join(started)}")
            if opts["once"]:
                return
            time.sleep(opts["interval"])
