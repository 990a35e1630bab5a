"""Demo ledger: products, internal accounts, tellers' cash boxes, accounts for every demo customer through the
opening service, three months of realistic history through the bulk path (`bulk.py`), a large transfer waiting for
approval, and last night's interest accrual. `seed_demo --transactions N` adds N movements to an existing bank."""

from __future__ import annotations

import time as clock
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from bankcrm.core import demo


def _tellers():
    from bankcrm.org.models import Staff

    return list(Staff.objects.filter(is_active=True, role_assignments__role="operations_manager")
                .select_related("branch").order_by("staff_no").distinct())


def seed_ledger(ctx: demo.SeedContext) -> None:
    from bankcrm.customers.models import Customer
    from bankcrm.ledger import services
    from bankcrm.ledger.models import Product
    from bankcrm.org.models import Staff

    admin = ctx.state.get("admin") or Staff.objects.filter(role_assignments__role="admin").order_by("staff_no").first()
    rng = ctx.rng
    with transaction.atomic():
        services.ledger_bootstrap(actor=admin)
    tellers = _tellers()
    for t in tellers:
        with transaction.atomic():
            services.cash_box_open(actor=t)
    products = {p.code: p for p in Product.objects.all()}
    by_branch = {}
    for t in tellers:
        by_branch.setdefault(t.branch.path, t)
    opened = 0
    customers = Customer.objects.select_related("branch").order_by("id")
    for c in customers:
        teller = by_branch.get(c.branch.path)
        if teller is None:
            continue
        code = "D-CORP" if c.kind == "company" else ("D-OD" if rng.random() < 0.05 else "D-CNY")
        with transaction.atomic():
            demand = services.account_open(actor=teller, customer_id=c.pk, product_id=products[code].pk)
        opened += 1
        if c.kind == "person" and rng.random() < 0.3:
            term = rng.choice(["T-3M", "T-1Y", "T-3Y"])
            instruction = rng.choice(["rollover", "principal", "payout"])
            with transaction.atomic():
                td = services.account_open(actor=teller, customer_id=c.pk, product_id=products[term].pk,
                                           maturity_instruction=instruction,
                                           payout_account_id=demand.pk if instruction != "rollover" else None)
                # the deposit itself, in cash at the counter (below the approval threshold)
                services.post(services.cash_deposit_movement(actor=teller, account_id=td.pk,
                                                             amount_fen=rng.randrange(10, 49) * 100_000),
                              maker=teller)
            opened += 1
        if c.kind == "person" and rng.random() < 0.08:
            with transaction.atomic():
                services.account_open(actor=teller, customer_id=c.pk, product_id=products["D-USD"].pk)
            opened += 1
    _backdate_openings(rng)
    ctx.out(f"  账户 {opened} 个（活期、定期、透支、美元），柜员尾箱 {len(tellers)} 个")
    n = int(ctx.options.get("transactions") or 0) or 4000
    _history(ctx, n, days=90)
    ctx.state["ledger_seeded"] = True
    _live_examples(ctx, by_branch)


def _backdate_openings(rng) -> None:
    """Demo realism: the customers have banked with us for a while, so their accounts were opened before the
    generated history starts (time deposits keep the dates the opening service gave them)."""
    from bankcrm.ledger.models import Account

    now = timezone.now()
    for pk in Account.objects.filter(kind="customer", maturity_date__isnull=True).values_list("pk", flat=True):
        Account.objects.filter(pk=pk).update(opened_at=now - timedelta(days=rng.randrange(120, 3000),
                                                                       minutes=rng.randrange(0, 600)))


def _history(ctx: demo.SeedContext, n: int, *, days: int) -> None:
    from bankcrm.ledger import bulk, selectors
    from bankcrm.ledger.models import Account
    from bankcrm.org.models import Staff

    tellers = _tellers()
    boxes: dict[str, list[int]] = {}
    makers: dict[str, list[int]] = {}
    for box_id, teller_id, path in Account.objects.filter(internal_code="cash", currency="CNY").values_list(
            "id", "teller_id", "branch_path"):
        boxes.setdefault(path, []).append(box_id)
        makers.setdefault(path, []).append(teller_id)
    accounts = list(Account.objects.filter(kind="customer", currency="CNY", status="active",
                                           product__kind="demand").values_list("id", flat=True))
    clearing = Account.objects.get(internal_code="clearing", currency="CNY").pk
    labels = {s.pk: f"{s.staff_no} {s.name}" for s in tellers}
    del Staff
    today = timezone.localdate()
    started = clock.monotonic()

    def progress(done: int) -> None:
        if done % 100_000 < 5000:
            ctx.out(f"  … {done:,} 笔，{clock.monotonic() - started:.0f} 秒")

    result = bulk.generate(customer_accounts=accounts, cash_boxes=boxes, clearing_id=clearing, n=n,
                           start=today - timedelta(days=days), end=today - timedelta(days=1), rng=ctx.rng,
                           makers=makers, labels=labels, progress=progress)
    report = selectors.invariant_report()
    ctx.out(f"  历史交易 {result['posted']:,} 笔（{clock.monotonic() - started:.0f} 秒），"
            f"账务平衡检查：{'通过' if not any(report.values()) else report}")
    if any(report.values()):
        raise RuntimeError(f"ledger invariant broken after bulk history: {report}")


def _live_examples(ctx: demo.SeedContext, by_branch: dict) -> None:
    """A large transfer waiting for a second person, so the approvals inbox shows maker-checker on money."""
    from bankcrm.ledger import services
    from bankcrm.ledger.models import Account

    for path, teller in sorted(by_branch.items())[:2]:
        rich = (Account.objects.filter(kind="customer", currency="CNY", status="active", branch_path__startswith=path,
                                       product__kind="demand", balance_fen__gte=8_000_000).order_by("-balance_fen")[:2])
        rich = list(rich)
        if len(rich) < 2:
            continue
        mv = services.internal_transfer_movement(actor=teller, from_account_id=rich[0].pk, to_account_id=rich[1].pk,
                                                 amount_fen=6_800_000, memo="购房首付款")
        with transaction.atomic():
            services.movement_request(actor=teller, mv=mv, reason="客户到柜面办理，已核实身份")
    services.interest_accrue(on=timezone.localdate() - timedelta(days=1))
    ctx.out("  大额转账待复核 2 笔；昨日利息已计提")


def seed_more_transactions(ctx: demo.SeedContext) -> None:
    """Only on an existing bank (a fresh one takes --transactions in seed_ledger)."""
    n = int(ctx.options.get("transactions") or 0)
    if n and ctx.state.get("ledger_seeded") is None:
        _history(ctx, n, days=365)


demo.register("ledger", 30, seed_ledger)
demo.register("ledger_more", 31, seed_more_transactions)
