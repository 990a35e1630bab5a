"""A large demo bank: ``manage.py seed_demo --customers N`` adds N generated customers through the bulk path
(bulk.py: the same validation, encryption, blind indexes, pinyin and bigrams as registration), spread over the
customer managers, one audit event per committed batch. A million customers take minutes on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from django.utils import timezone

from bankcrm.core import demo

from .demo import GIVEN, OCCUPATIONS, REGIONS, SURNAMES, company_code, person_id

ALL_REGIONS = sorted({r for codes in REGIONS.values() for r in codes})
STREETS = ["建国路", "人民路", "解放路", "中山路", "长安街", "南京路", "深南大道", "滨海大道", "科技园路", "和平里"]


def generate(rng, n: int, managers: list[str], today: date, seen: set[int] | None = None) -> Iterator[tuple[int, tuple[str, ...]]]:
    """N distinct customers as bulk input rows in bulk.INPUT_FIELDS order (row numbers from 2, as in a file with a
    header). Cheap per row: a million are generated in the importing process."""
    seen = set() if seen is None else seen
    row = 1
    surnames, given, streets, occupations = SURNAMES[:-2], GIVEN, STREETS, [o for o, _i in OCCUPATIONS]
    regions, nm = ALL_REGIONS, len(managers)
    rand, randrange, choice = rng.random, rng.randrange, rng.choice
    base = today.toordinal()
    while row <= n:
        manager = managers[row % nm] if nm else ""
        mobile = f"1{choice('3589')}{randrange(10**9):09d}"
        if rand() < 0.02:
            number = company_code(rng)
            name = choice(["北京", "上海", "深圳"]) + choice(given) + choice(given) + choice(
                ["科技有限公司", "贸易有限公司", "餐饮管理有限公司", "建筑工程有限公司"])
            key = int(number[:17], 36)
            values = ("company", name, "uscc", number, mobile, "", "", "", "", "", "", choice(surnames) + choice(given), manager)
        else:
            born = date.fromordinal(base - randrange(18 * 365, 85 * 365))
            number = person_id(rng, choice(regions), born)
            key = int(number[:17])
            name = ("欧阳" if rand() < 0.01 else choice(surnames)) + choice(given) + (choice(given) if rand() < 0.67 else "")
            email = f"u{randrange(10**8)}@example.cn" if rand() < 0.3 else ""
            address = f"{choice(streets)}{randrange(1, 300)}号{randrange(101, 2801)}室"
            values = ("person", name, "resident_id", number, mobile, email, address, choice(occupations), "", "", "", "", manager)
        if key in seen:  # the same number twice would be refused as a duplicate: draw another
            continue
        seen.add(key)
        row += 1
        yield row, values


def seed_bulk_customers(ctx: demo.SeedContext) -> None:
    n = int(ctx.options.get("customers") or 0)
    if n <= 0:
        return
    from bankcrm.org.models import Staff

    from . import bulk

    supervisors = list(Staff.objects.filter(is_active=True, role_assignments__role="branch_supervisor")
                       .select_related("branch").order_by("branch__path", "staff_no"))
    cms = list(Staff.objects.filter(is_active=True, role_assignments__role="customer_manager", employment_type="employee")
               .select_related("branch").order_by("staff_no"))
    groups: list[tuple[Staff, list[str]]] = []  # each supervisor imports for the managers of their branch
    taken: set[str] = set()
    for sv in supervisors:
        mine = [m.staff_no for m in cms if m.branch.path.startswith(sv.branch.path) and m.staff_no not in taken]
        if mine:
            groups.append((sv, mine))
            taken.update(mine)
    if not groups:
        ctx.out("  未找到网点负责人或客户经理，跳过批量客户 / no supervisor or managers: bulk customers skipped")
        return
    done, refused, seen = [0], 0, set()
    shares = [len(g[1]) for g in groups]

    def progress(_last_row, ids, _errors) -> None:
        done[0] += len(ids)
        if done[0] and done[0] % 100_000 < len(ids):
            ctx.out(f"  …{done[0]:,}")

    today = timezone.localdate()
    for i, (actor, managers) in enumerate(groups):
        count = n - sum(n * s // sum(shares) for s in shares[:-1]) if i == len(groups) - 1 else n * shares[i] // sum(shares)
        registrar = bulk.BulkRegistrar(actor=actor, source=f"seed_demo --customers {n}", reason="演示数据")
        _total, errors = bulk.register_rows(generate(ctx.rng, count, managers, today, seen), registrar=registrar,
                                            workers=bulk.default_workers(n), batch_size=20_000 if n >= 100_000 else 5000,
                                            on_batch=progress)
        refused += len({e.row for e in errors})
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("ANALYZE customers_customer; ANALYZE customers_namebigram; ANALYZE customers_managerassignment")
    ctx.out(f"  批量客户 {done[0]:,} 名（{refused} 行未通过校验）")


demo.register("customers_bulk", 21, seed_bulk_customers)
