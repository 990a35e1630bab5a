"""P7: quarterly KPI scorecards for N staff (5,000; quick 500) against a hand-written SQL reference (QUALITY.md).

Set-up (not timed; `seed`, shared with tests/test_people_scorecards_sql.py): a branch tree under the head office with
sub-branches of ten staff each (a supervisor, six customer managers, an operations, a risk and a compliance
manager), ten customers per customer manager written in bulk, with what the metrics read: primary-manager intervals
(handovers in the quarter, customers new in the quarter, a few closed), survey invitations and answers (CSAT / NPS,
inside and outside the quarter), complaints (received, decided on time or late, upheld and naming the manager), wealth
sales with return visits (ok / problem, on time or late) and won / lost opportunities, AUM snapshots on three days,
due-diligence tasks and training assignments. The default schemes installed; the Q3 2026 period opened; ANALYZE.

- Subject: ``appraisal_services.scorecards_compute`` for the period (bulk metrics, scorecards and lines written, audit).
  Between rounds the period's scorecards are deleted so every round computes from scratch.
- Reference: ``people.appraisal_reference.reference_scores`` — one hand-written SQL statement per scheme (every metric
  an aggregate, value, score and weighted total in SQL), reading the same tables.
The scores must be identical (mismatches reported); the ratio is the median of subject ÷ reference over ROUNDS
alternating rounds (target ≤ 2). The subject also writes N scorecards and ~10·N lines; the reference only reads, so
a second figure reports the subject's compute phase alone (its metric queries and score arithmetic, no writes).
"""

from __future__ import annotations

import os
import random
import statistics
import time
from datetime import date, datetime, timedelta

SEED = 20261129
ROUNDS = 3
YEAR, QUARTER = 2026, 3
PASSWORD = "Bench-Passw0rd!x"
ROOT_CODE = "P7"


def _aware(d: date, h: int = 10, m: int = 0):
    from django.utils import timezone

    return datetime(d.year, d.month, d.day, h, m, tzinfo=timezone.get_default_timezone())


def seed(admin, n_staff: int, *, rng_seed: int = SEED, year: int = YEAR, quarter: int = QUARTER,
         prefix: str = ROOT_CODE) -> dict:
    """Bulk-write a bank of ``n_staff`` staff with everything the metrics read, under ``admin``'s head office.
    Returns ``{"staff": n, "customers": n, ...}``. Deterministic for a seed."""
    from django.contrib.auth.hashers import make_password
    from django.db import transaction
    from django.utils import timezone

    from bankcrm.customers.models import Customer, ManagerAssignment
    from bankcrm.engagement.models import Opportunity
    from bankcrm.ledger.models import Account
    from bankcrm.org.models import Branch, RoleAssignment, Staff
    from bankcrm.people import appraisal_rules as rules
    from bankcrm.people.models import Assignment, Course
    from bankcrm.risk.models import DueDiligence
    from bankcrm.service.models import Complaint
    from bankcrm.surveys import services as survey_services
    from bankcrm.surveys.models import Campaign, Invitation, Response
    from bankcrm.wealth.models import AumSnapshot, ReturnVisit, Sale, WealthProduct

    rng = random.Random(rng_seed)
    start, end = rules.period_bounds(year, quarter)
    days = (end - start).days
    head = admin.branch
    pw = make_password(PASSWORD)

    def day_in(a: date, b: date) -> date:
        return a + timedelta(days=rng.randrange((b - a).days + 1))

    def in_q() -> date:
        return day_in(start, end)

    with transaction.atomic():
        # ---- branches and staff -------------------------------------------------------------------------------
        n_sub = max(1, n_staff // 10)
        n_br = max(1, n_sub // 10)
        brs = Branch.objects.bulk_create([Branch(code=f"{prefix}B{i:03d}", name=f"考核分行{i}", kind="branch", parent=head,
                                                 path=f"{head.path}{prefix}B{i:03d}/") for i in range(n_br)])
        subs = Branch.objects.bulk_create([
            Branch(code=f"{prefix}S{j:04d}", name=f"考核支行{j}", kind="sub_branch", parent=brs[j % n_br],
                   path=f"{brs[j % n_br].path}{prefix}S{j:04d}/") for j in range(n_sub)])
        plan = []
        for j, sb in enumerate(subs):
            roles = ["branch_supervisor"] + ["customer_manager"] * 6 + ["operations_manager", "risk_manager",
                                                                        "compliance_manager"]
            for k, role in enumerate(roles):
                plan.append((f"{prefix}{j:04d}{k}", sb, role))
        staff = Staff.objects.bulk_create([Staff(staff_no=no, name=f"员工{no}", branch=sb, password=pw)
                                           for no, sb, _r in plan])
        RoleAssignment.objects.bulk_create([RoleAssignment(staff=s, role=r, granted_by=admin)
                                            for s, (_n, _b, r) in zip(staff, plan, strict=True)])
        # A few staff hold two roles (the higher-priority role's scheme applies) and a few left (not appraised).
        extra = [s for s, (_n, _b, r) in zip(staff, plan, strict=True) if r == "operations_manager"][::7]
        RoleAssignment.objects.bulk_create([RoleAssignment(staff=s, role="customer_manager", granted_by=admin)
                                            for s in extra])
        gone = [s.pk for s, (_n, _b, r) in zip(staff, plan, strict=True) if r == "customer_manager"][::53]
        Staff.objects.filter(pk__in=gone).update(is_active=False)
        by_branch: dict[int, dict[str, list]] = {}
        for s, (_n, sb, r) in zip(staff, plan, strict=True):
            by_branch.setdefault(sb.pk, {}).setdefault(r, []).append(s)

        # ---- customers and their managers ---------------------------------------------------------------------
        customers, owners = [], []
        seq = Customer.objects.count()
        for sb in subs:
            cms = by_branch[sb.pk]["customer_manager"]
            for cm in cms:
                for _i in range(10):
                    seq += 1
                    customers.append(Customer(customer_no=f"{prefix}{seq:09d}", name=rng.choice("王李张刘陈杨黄赵") + "某某",
                                              id_type="passport", id_number=f"E{prefix}{seq:09d}", branch=sb,
                                              created_by=admin, status="closed" if rng.random() < 0.04 else "active"))
                    owners.append((cm, cms))
        made = Customer.objects.bulk_create(customers, batch_size=2000)
        before = _aware(start - timedelta(days=400))
        old_ids, new_by_day = [], {}
        assigns = []
        for c, (cm, cms) in zip(made, owners, strict=True):
            if rng.random() < 0.12:  # new in the quarter, with this manager as first primary
                d = in_q()
                new_by_day.setdefault(d, []).append(c.pk)
                first_start = _aware(d, 9)
            else:
                old_ids.append(c.pk)
                first_start = _aware(start - timedelta(days=rng.randrange(30, 300)))
            x = rng.random()
            if x < 0.08:  # handed over during the quarter to a colleague
                other = rng.choice(cms)
                cut = _aware(in_q(), 15)
                assigns.append(ManagerAssignment(customer=c, staff=cm, role="primary", started_at=first_start,
                                                 ended_at=max(cut, first_start + timedelta(hours=1)), assigned_by=admin))
                assigns.append(ManagerAssignment(customer=c, staff=other, role="primary",
                                                 started_at=max(cut, first_start + timedelta(hours=1)), assigned_by=admin))
            elif x < 0.11:  # taken over before the quarter from a colleague (so not "new" for this manager)
                other = rng.choice(cms)
                cut = first_start + timedelta(days=1) if first_start < _aware(start) else first_start + timedelta(hours=2)
                assigns.append(ManagerAssignment(customer=c, staff=other, role="primary", started_at=first_start,
                                                 ended_at=cut, assigned_by=admin))
                assigns.append(ManagerAssignment(customer=c, staff=cm, role="primary", started_at=cut, assigned_by=admin))
            else:
                assigns.append(ManagerAssignment(customer=c, staff=cm, role="primary", started_at=first_start,
                                                 assigned_by=admin))
            if rng.random() < 0.05:
                assigns.append(ManagerAssignment(customer=c, staff=rng.choice(cms), role="team", started_at=first_start,
                                                 assigned_by=admin))
        ManagerAssignment.objects.bulk_create(assigns, batch_size=5000)
        Customer.objects.filter(pk__in=old_ids).update(created_at=before)
        for d, ids in new_by_day.items():
            Customer.objects.filter(pk__in=ids).update(created_at=_aware(d, 8))
        primary_now = {a.customer_id: a.staff for a in assigns if a.role == "primary" and a.ended_at is None}

        # ---- surveys ----------------------------------------------------------------------------------------------
        template = survey_services.template_install_default(actor=admin)
        campaign = Campaign.objects.create(name="考核基准调查", trigger="periodic", frequency="quarterly", template=template,
                                           branch=head, branch_path=head.path, created_by=admin)
        invs, answers = [], []
        for c in made:
            for _k in range(rng.choice([0, 0, 1, 1, 2])):
                when = _aware(day_in(start - timedelta(days=20), end + timedelta(days=20)), rng.randrange(24))
                mgr = primary_now.get(c.pk)
                invs.append(Invitation(campaign=campaign, template=template, customer=c, manager=mgr if rng.random() > 0.03 else None,
                                       branch_id=c.branch_id, branch_path=c.branch.path, trigger="periodic", channel="sms",
                                       source_ref=f"{prefix}-{c.pk}-{len(invs)}", status="answered", sent_at=when,
                                       answered_at=when))
                answers.append((c, when))
        invs = Invitation.objects.bulk_create(invs, batch_size=5000)
        Response.objects.bulk_create([
            Response(invitation=i, customer=c, created_at=when,
                     csat=None if rng.random() < 0.05 else rng.choice([1, 2, 3, 4, 4, 5, 5, 5]),
                     nps=None if rng.random() < 0.05 else rng.randrange(11))
            for i, (c, when) in zip(invs, answers, strict=True)], batch_size=5000)

        # ---- complaints -------------------------------------------------------------------------------------------
        comps = []
        for c in made:
            if rng.random() >= 0.08:
                continue
            sb = by_branch[c.branch_id]
            rec = _aware(day_in(start - timedelta(days=30), end), rng.randrange(8, 18))
            due = rec.date() + timedelta(days=15)
            decided = rec + timedelta(days=rng.choice([3, 10, 14, 16, 25])) if rng.random() < 0.85 else None
            handler = rng.choice(sb["operations_manager"] + sb["compliance_manager"])
            named = primary_now.get(c.pk) if rng.random() < 0.5 else None
            comps.append(Complaint(
                number=f"{prefix}C{len(comps):07d}", kind="complaint" if rng.random() < 0.85 else "feedback",
                channel="branch", summary="服务投诉", customer=c, branch_path=c.branch.path, branch_id=c.branch_id,
                staff_named=named, handler=handler, received_at=rec, ack_due_on=rec.date() + timedelta(days=1),
                decision_due_on=due, status="decided" if decided else "assigned", decided_at=decided,
                decided_by=handler if decided else None,
                decision=(rng.choice(["upheld", "partly", "not_upheld"]) if decided else "")))
        Complaint.objects.bulk_create(comps, batch_size=5000)

        # ---- sales, return visits, opportunities -------------------------------------------------------------------
        account = Account.objects.order_by("pk").first()
        product = WealthProduct.objects.create(code=f"{prefix}WM", name="考核基准理财", kind="wealth", issuer="基准理财",
                                               risk_level=2, sales_start=start - timedelta(days=365), created_by=admin)
        sales, seller_of = [], []
        for c in made:
            if rng.random() >= 0.3:
                continue
            seller = primary_now.get(c.pk)
            if seller is None:
                continue
            sales.append(Sale(number=f"{prefix}S{len(sales):08d}", customer=c, product=product, account=account,
                              amount_fen=100_000_00, seller=seller, branch_path=c.branch.path,
                              proposed_at=_aware(day_in(start - timedelta(days=30), end))))
            seller_of.append(c)
        sales = Sale.objects.bulk_create(sales, batch_size=5000)
        visits, opps = [], []
        for sale, c in zip(sales, seller_of, strict=True):
            sb = by_branch[c.branch_id]
            due = sale.proposed_at.date() + timedelta(days=7)
            r = rng.random()
            if r < 0.75:
                done = _aware(due + timedelta(days=rng.choice([-5, -1, 0, 1, 3])), rng.randrange(9, 20))
                visits.append(ReturnVisit(sale=sale, assignee=rng.choice(sb["operations_manager"]), branch_path=sale.branch_path,
                                          due_on=due, status="done", outcome="ok" if rng.random() < 0.9 else "problem",
                                          done_at=done))
            elif r < 0.85:
                visits.append(ReturnVisit(sale=sale, assignee=rng.choice(sb["operations_manager"]), branch_path=sale.branch_path,
                                          due_on=due, status="unreachable", attempts=3))
            else:
                visits.append(ReturnVisit(sale=sale, assignee=rng.choice(sb["operations_manager"]), branch_path=sale.branch_path,
                                          due_on=due))
            if rng.random() < 0.5:
                opps.append(Opportunity(customer=c, owner=sale.seller, branch_path=sale.branch_path, title="配置需求",
                                        stage="won", sale=sale, closed_at=sale.proposed_at + timedelta(days=1)))
        for c in made:
            if rng.random() < 0.15 and c.pk in primary_now:
                stage = rng.choice(["lost", "lost", "need", "proposal"])
                opps.append(Opportunity(customer=c, owner=primary_now[c.pk], branch_path=c.branch.path, title="理财需求",
                                        stage=stage, lost_reason="客户暂无意向" if stage == "lost" else "",
                                        closed_at=_aware(day_in(start - timedelta(days=20), end + timedelta(days=20)))
                                        if stage == "lost" else None))
        ReturnVisit.objects.bulk_create(visits, batch_size=5000)
        Opportunity.objects.bulk_create(opps, batch_size=5000)

        # ---- AUM snapshots: before, first, middle and last day of the quarter ----------------------------------
        snaps = []
        mid = start + timedelta(days=days // 2)
        for c in made:
            base = rng.randrange(1, 500) * 10_000_00
            mgr = primary_now.get(c.pk)
            for d, f in ((start - timedelta(days=1), 0.9), (start, 1.0), (mid, 1.02), (end, rng.choice([0.9, 1.0, 1.05, 1.2]))):
                if d == start and rng.random() < 0.05:
                    continue  # no snapshot on the first day: growth starts from nothing for this one
                snaps.append(AumSnapshot(day=d, customer=c, branch_path=c.branch.path, manager_id=mgr.pk if mgr else None,
                                         total_fen=int(base * f), deposits_fen=int(base * f), tier="mass"))
        AumSnapshot.objects.bulk_create(snaps, batch_size=5000)

        # ---- due diligence and training ---------------------------------------------------------------------------
        dds, tasks = [], []
        course = Course.objects.create(code=f"{prefix.lower()}-bench", title="考核基准课程", status="published")
        for sb in subs:
            roles = by_branch[sb.pk]
            for rm in roles["risk_manager"]:
                for _k in range(rng.randrange(0, 5)):
                    c = rng.choice(made)
                    opened = _aware(day_in(start - timedelta(days=20), end))
                    done = opened + timedelta(days=rng.choice([2, 5, 12, 20]))
                    dds.append(DueDiligence(customer=c, branch_path=c.branch.path, trigger="manual",
                                            source_key=f"{prefix}-dd-{len(dds)}", opened_at=opened,
                                            due_on=opened.date() + timedelta(days=10), status="done",
                                            completed_by=rm, completed_at=done))
            for members in roles.values():
                for s in members:
                    for _k in range(rng.randrange(0, 3)):
                        due = day_in(start - timedelta(days=10), end + timedelta(days=10))
                        st = rng.choice(["completed", "completed", "open", "waived"])
                        completed = _aware(due + timedelta(days=rng.choice([-10, -1, 0, 2]))) if st == "completed" else None
                        tasks.append(Assignment(staff=s, course=course, course_version=1, reason="manual",
                                                branch_path=sb.path, assigned_at=_aware(due - timedelta(days=30)),
                                                due_on=due, status=st, completed_at=completed))
        DueDiligence.objects.bulk_create(dds, batch_size=5000)
        # one open assignment per staff and course: keep only the first open one of each member of staff
        seen_open, keep = set(), []
        for t in tasks:
            if t.status == "open":
                if t.staff_id in seen_open:
                    continue
                seen_open.add(t.staff_id)
            keep.append(t)
        Assignment.objects.bulk_create(keep, batch_size=5000)
    _ = timezone
    return {"staff": len(staff), "customers": len(made), "responses": len(invs), "complaints": len(comps),
            "sales": len(sales), "snapshots": len(snaps), "assignments": len(keep), "root": head.path}


def _analyze() -> None:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("ANALYZE")


def _bank():
    from bankcrm.ledger import services as ledger
    from bankcrm.org import services as org
    from bankcrm.org.models import Staff

    admin = Staff.objects.filter(staff_no="BAD01").first()
    if admin is None:
        admin = org.bank_bootstrap(head_office_code="900", head_office_name="基准总行", admin_staff_no="BAD01",
                                   admin_name="基准管理", admin_password=PASSWORD)
    admin = Staff.objects.select_related("branch").get(pk=admin.pk)
    ledger.ledger_bootstrap(actor=admin)
    return admin


def run(*, quick: bool, database: str) -> list[dict]:
    from django.db import transaction

    from bankcrm.people import appraisal_reference as ref
    from bankcrm.people import appraisal_services as svc
    from bankcrm.people.models import KpiScheme, Scorecard, ScorecardLine

    n = int(os.environ.get("BENCH_PEOPLE_P7_N") or (500 if quick else 5000))
    t0 = time.perf_counter()
    admin = _bank()
    info = seed(admin, n)
    with transaction.atomic():
        svc.schemes_install_default(actor=admin)
        period = svc.period_open(actor=admin, year=YEAR, quarter=QUARTER)
    _analyze()
    setup_s = round(time.perf_counter() - t0, 1)

    times_s, times_r, times_c, ratios = [], [], [], []
    got = want = {}
    for _round in range(ROUNDS):
        ScorecardLine.objects.filter(scorecard__period=period).delete()
        Scorecard.objects.filter(period=period).delete()
        t = time.perf_counter()
        counts = svc.scorecards_compute(actor=admin, period_id=period.pk)
        times_s.append(time.perf_counter() - t)
        t = time.perf_counter()
        want = ref.reference_scores(period)
        times_r.append(time.perf_counter() - t)
        ratios.append(times_s[-1] / times_r[-1])
        # the compute phase alone: the same metric queries and arithmetic, nothing written
        t = time.perf_counter()
        _compute_only(svc, period)
        times_c.append(time.perf_counter() - t)
    got = ref.product_scores(period)
    diffs = ref.differences(got, want)
    mismatches = sum(1 for sid in set(got) | set(want) if got.get(sid) != want.get(sid))
    schemes = KpiScheme.objects.filter(status="active").count()
    med_s, med_r, med_c = statistics.median(times_s), statistics.median(times_r), statistics.median(times_c)
    return [
        {"workload": "P7_quarterly_scorecards", "subject": round(med_s, 3), "reference": round(med_r, 3),
         "ratio": round(statistics.median(ratios), 2), "target": "<= 2", "n": info["staff"], "unit": "s per run",
         "scorecards": counts["created"], "lines": ScorecardLine.objects.filter(scorecard__period=period).count(),
         "customers": info["customers"], "responses": info["responses"], "complaints": info["complaints"],
         "schemes": schemes, "mismatches": mismatches, "first_differences": diffs[:3], "rounds": ROUNDS,
         "setup_s": setup_s, "met": statistics.median(ratios) <= 2 and mismatches == 0},
        {"workload": "P7_compute_phase_only", "subject": round(med_c, 3), "reference": round(med_r, 3),
         "ratio": round(med_c / med_r, 2), "target": "report", "n": info["staff"], "unit": "s per run",
         "note": "scorecards_compute without writing (metric aggregates + score arithmetic) vs the SQL reference"},
    ]


def _compute_only(svc, period) -> int:
    from django.db.models import Q

    plan = svc.appraisal_plan(Q())
    results = svc.metric_results(plan, period)
    return sum(len(svc.compute_scores(scheme, period, staff, results)) for scheme, staff in plan)
