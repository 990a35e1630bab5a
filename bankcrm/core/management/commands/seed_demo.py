import random

from django.core.management.base import BaseCommand

from bankcrm.core import context, demo


class Command(BaseCommand):
    help = "Generate a realistic demo bank (reproducible with --seed). Does nothing if the bank already exists."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=20261128)
        parser.add_argument("--quiet", action="store_true")

    def handle(self, *args, **opts):
        from bankcrm.org.models import Branch

        if Branch.objects.exists():
            self.stdout.write("演示数据已存在，未重复生成 / demo data already present, nothing to do")
            return
        ctx = demo.SeedContext(rng=random.Random(opts["seed"]), options=opts,
                               out=(lambda s: None) if opts["quiet"] else self.stdout.write)
        with context.channel("command"):
            for seeder in sorted(demo.SEEDERS.values(), key=lambda s: s.order):
                seeder.run(ctx)
        self.stdout.write(self.style.SUCCESS("演示银行已生成 / demo bank generated"))
