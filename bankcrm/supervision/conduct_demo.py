"""Demo of staff conduct, retention and legal holds: realistic activity planted in the logs (a customer manager
revealing full identity numbers all afternoon, an operations manager opening dozens of customers they do not serve,
late-night and weekend sign-ins, a teller depositing cash for their own household), the nightly detectors run for
those days, one signal reviewed; mandatory-leave and rotation records for the key posts with one person overdue on
each; one legal hold; one dry retention run."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from bankcrm.core import demo


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), timezone.get_current_timezone())


def _last_weekday(today: date) -> date:
    d = today - timedelta(days=1)
    while d.weekday() >= 5:
        d -= timedelta(days=1)
    return d


def _plant_logs(ctx: demo.SeedContext, day: date, staff: dict[str, Any]) -> None:
    from freezegun import freeze_time  # the demo writes past log rows through the normal writers

    from bankcrm.core import logs
    from bankcrm.core.models import SecurityEvent
    from bankcrm.customers.models import Customer, ManagerAssignment

    cm, om, night = staff["cm"], staff["om"], staff["night"]
    ids = list(Customer.objects.filter(status="active").order_by("id").values_list("pk", flat=True)[:400])
    if cm is not None:  # 25 full identity numbers revealed in one afternoon, each with a reason
        for i, cid in enumerate(ids[:25]):
            with freeze_time(_at(day, 14, i * 2)):
                logs.access(actor=cm, view="customers.reveal", subject_type="customers.Customer", subject_ids=[cid],
                            fields=["id_number"], unmasked=True, reason="核对客户身份")
    if om is not None:  # 60 customers opened that the operations manager does not serve
        managed = set(ManagerAssignment.objects.filter(staff=om, ended_at__isnull=True).values_list("customer_id",
                                                                                                  flat=True))
        for i, cid in enumerate([c for c in ids if c not in managed][:60]):
            with freeze_time(_at(day, 10 + i // 20, i % 20 * 3)):
                logs.access(actor=om, view="customers.detail", subject_type="customers.Customer", subject_ids=[cid],
                            fields=["name", "mobile"])
    if night is not None:  # late-night and weekend sign-ins over the past week
        saturday = day - timedelta(days=(day.weekday() - 5) % 7)
        for when in (_at(day - timedelta(days=1), 23, 10), _at(day - timedelta(days=2), 22, 40),
                     _at(day, 5, 50), _at(saturday, 10, 5), _at(saturday, 15, 30), _at(day - timedelta(days=3), 23, 55)):
            with freeze_time(when):
                logs.security(SecurityEvent.Kind.LOGIN_OK, actor=night, username=night.staff_no)


def _plant_related_party(ctx: demo.SeedContext, teller: Any) -> str:
    """The teller's own phone is on a customer record (their spouse's household account); they deposit cash there."""
    from bankcrm.core.errors import DomainError
    from bankcrm.core.identifiers import ric_check_char
    from bankcrm.customers import services as cs
    from bankcrm.customers.models import Customer, Relationship
    from bankcrm.ledger import services as ls
    from bankcrm.ledger.models import Account, Product

    if teller is None or not teller.mobile:
        return "no teller"
    try:
        manager = (Customer.objects.filter(branch=teller.branch).first() or Customer.objects.first())
        primary = manager.team.filter(role="primary", ended_at__isnull=True).first() if manager else None
        registrar = primary.staff if primary else teller
        body = f"320102198{ctx.rng.randint(0, 9)}0{ctx.rng.randint(1, 9)}1{ctx.rng.randint(0, 9)}{ctx.rng.randint(100, 999)}"
        me = cs.customer_register(actor=registrar, kind="person", name=f"{teller.name[:1]}家明", id_type="resident_id",
                                  id_number=body + ric_check_char(body), mobile=teller.mobile,
                                  branch_id=teller.branch_id)
        spouse_body = f"320102198{ctx.rng.randint(0, 9)}1{ctx.rng.randint(0, 2)}0{ctx.rng.randint(1, 9)}{ctx.rng.randint(100, 999)}"
        spouse = cs.customer_register(actor=registrar, kind="person", name="林晓燕", id_type="resident_id",
                                      id_number=spouse_body + ric_check_char(spouse_body), mobile="13962201188",
                                      branch_id=teller.branch_id)
        with transaction.atomic():
            Relationship.objects.create(from_customer=me, to_customer=spouse, kind="spouse", created_by=registrar)
        product = Product.objects.filter(code="D-CNY").first()
        acc = ls.account_open(actor=teller, customer_id=spouse.pk, product_id=product.pk)
        if not Account.objects.filter(teller=teller, internal_code="cash", currency="CNY").exists():
            ls.cash_box_open(actor=teller)
        for amount in (4_800_000, 3_500_000):
            mv = ls.cash_deposit_movement(actor=teller, account_id=acc.pk, amount_fen=amount)
            with transaction.atomic():
                ls.post(mv, maker=teller)
        return "ok"
    except DomainError as exc:  # a demo bank without the ledger set up: leave this signal out
        return f"skipped ({exc.code})"


def seed_key_posts(ctx: demo.SeedContext) -> None:
    """Key posts' mandatory leave and rotation records — before the coverage seeder runs the control checks, so the
    matrix shows the one person without leave and the one six years in post, not every key post."""
    from bankcrm.core.access import Role
    from bankcrm.org.models import Staff

    from . import conduct_rules as rules
    from . import conduct_selectors as sel
    from . import conduct_services as svc

    today = timezone.localdate()
    compliance = Staff.objects.filter(role_assignments__role=Role.COMPLIANCE_MANAGER, is_active=True).order_by("pk").first()
    admin = ctx.state.get("admin") or compliance
    # mandatory leave for everyone except one, rotation dates with one person in post for 6 years
    key = list(sel.conduct_key_post_staff().order_by("staff_no"))
    recorder = compliance or admin
    for i, person in enumerate(key):
        with transaction.atomic():
            if i != 1:
                start = today - timedelta(days=ctx.rng.randint(30, 300))
                svc.leave_record(actor=recorder, staff_id=person.pk, start_on=start, end_on=start + timedelta(days=11),
                                 note="年度强制休假")
            post = sorted(r for r in person.roles if r in rules.key_post_roles())[0]
            years = 6 if i == 2 else ctx.rng.randint(1, 4)
            svc.rotation_record(actor=recorder, staff_id=person.pk, post=post,
                                from_on=today - timedelta(days=365 * years + ctx.rng.randint(0, 200)), note="岗位任职")


def seed_supervision_conduct(ctx: demo.SeedContext) -> None:
    from bankcrm.core.access import Role
    from bankcrm.core.models import ConductSignal
    from bankcrm.customers.models import Customer
    from bankcrm.org.models import Staff

    from . import conduct_rules as rules
    from . import conduct_selectors as sel
    from . import conduct_services as svc
    from . import retention_services as rs

    today = timezone.localdate()
    day = _last_weekday(today)
    compliance = Staff.objects.filter(role_assignments__role=Role.COMPLIANCE_MANAGER, is_active=True).order_by("pk").first()

    def first(role: str, skip: set[int] = frozenset()) -> Any:  # type: ignore[assignment]
        return (Staff.objects.filter(role_assignments__role=role, is_active=True, employment_type="employee")
                .exclude(pk__in=skip).select_related("branch").order_by("staff_no").first())

    cm = first(Role.CUSTOMER_MANAGER)
    om = first(Role.OPERATIONS_MANAGER)
    teller = first(Role.OPERATIONS_MANAGER, {om.pk} if om else set()) or om
    night = first(Role.CUSTOMER_MANAGER, {cm.pk} if cm else set())
    _plant_logs(ctx, day, {"cm": cm, "om": om, "night": night})
    related = _plant_related_party(ctx, teller)
    raised = {}
    for d in (day, today):
        for kind, n in svc.run_detectors(day=d).items():
            raised[kind] = raised.get(kind, 0) + n

    # compliance looked into the unmasking: the manager was verifying documents for a batch of account reviews
    if compliance is not None:
        s = ConductSignal.objects.filter(kind=rules.KIND_UNMASK, status="open").order_by("pk").first()
        if s is not None:
            with transaction.atomic():
                svc.signal_review(actor=compliance, signal_id=s.pk,
                                  note="经核实为批量客户信息复核（附复核清单），属正常业务，已提醒按需查看")

    # a legal hold on a customer in a dispute, and a dry retention run
    target = Customer.objects.filter(status="active").order_by("-pk").first()
    if compliance is not None and target is not None:
        with transaction.atomic():
            rs.hold_place(actor=compliance, customer_id=target.pk, reason="客户诉讼纠纷，（2025）沪0101民初1234号，保全相关资料")
        rs.retention_run(actor=compliance, dry_run=True)
    leave_overdue = sel.conduct_leave_overdue().count()
    rotation_overdue = sel.conduct_rotation_overdue().count()
    ctx.out(f"supervision conduct: signals {raised} (related party: {related}); key posts {sel.conduct_key_post_staff().count()}, "
            f"leave overdue {leave_overdue}, rotation overdue {rotation_overdue}; 1 legal hold; dry retention run. "
            f"Scenario: log in as {compliance.staff_no if compliance else 'CO001'} → 内部监督 → 员工行为监测 "
            f"({cm.staff_no if cm else '-'} revealed 25 identity numbers on {day}).")


demo.register("supervision_key_posts", 59, seed_key_posts)
demo.register("supervision_conduct", 64, seed_supervision_conduct)
