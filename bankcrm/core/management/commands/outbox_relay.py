"""Deliver outbox events to their consumers shortly after commit (loop), or drain once (--once)."""

import time

from django.core.management.base import BaseCommand

from bankcrm.core import outbox


class Command(BaseCommand):
    help = "Outbox relay: hands each committed event to every registered consumer exactly once."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="drain what is there and exit")
        parser.add_argument("--idle", type=float, default=0.2, help="seconds to wait when there is nothing to do")

    def handle(self, *args, **opts):
        while True:
            moved = sum(outbox.consume(name) for name in list(outbox.CONSUMERS))
            if opts["once"] and not moved:
                return
            if not moved:
                time.sleep(opts["idle"])
