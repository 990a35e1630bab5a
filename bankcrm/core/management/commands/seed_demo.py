import random

from django.core.management.base import BaseCommand

from bankcrm.core import context, demo


class Command(BaseCommand):
    help = "Generate a realistic demo bank (reproducible with --seed). Does nothing if the bank already exists."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=20261128)
        parser.add_argument("--quiet", action="store_true")
        parser.add_argument("--customers", type=int, default=0,
                            help="also generate N customers through the bulk path (on an existing demo bank: only these)")
        parser.add_argument("--transactions", type=int, default=0,
                            help="N movements of history through the ledger's bulk path (on an existing bank: only these)")

    def handle(self, *args, **opts):
        from bankcrm.org.models import Branch

        only = None
        if Branch.objects.exists():
            if not opts["customers"] and not opts["transactions"]:
                self.stdout.write("演示数据已存在，未重复生成 / demo data already present, nothing to do")
                return
            # An existing bank gets only the extra customers and/or transactions asked for.
            only = ({"customers_bulk"} if opts["customers"] else set()) | ({"ledger_more"} if opts["transactions"] else set())
        ctx = demo.SeedContext(rng=random.Random(opts["seed"]), options=opts,
                               out=(lambda s: None) if opts["quiet"] else self.stdout.write)
        with context.channel("command"):
            for seeder in sorted(demo.SEEDERS.values(), key=lambda s: s.order):
                if only is None or seeder.name in only:
                    seeder.run(ctx)
        self.stdout.write(self.style.SUCCESS("演示银行已生成 / demo bank generated"))
