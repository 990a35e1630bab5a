"""Engagement, slice 1 (issue #9): interactions logged and planned (services, scope, the after-commit hook, the 360
panel's quick form and the mobile page), the calendar, tasks and their reminders, plan templates and action plans
(pure step dates, validation, idempotent install), the needs profile with its history, the inbox, and the pages."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from bankcrm.core import params
from bankcrm.core.errors import NotFound, PermissionDenied, RuleViolation, ValidationFailed
from bankcrm.core.inbox import items_for
from bankcrm.core.models import AccessEvent, AuditEvent
from bankcrm.engagement import rules, selectors, services
from bankcrm.engagement.models import ActionPlan, Interaction, NeedsProfile, NeedsProfileVersion, PlanTemplate, Task
from tests.conftest import login_client
from tests.helpers import audit_seq, verbs_since
from tests.ledger_helpers import build_ledger

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(bank):
    return build_ledger(bank)


def _log(bank, led, **kw):
    data = dict(actor=bank.cm_a1, customer_id=led.zhang.pk, kind="call", subject="到期资金安排",
                notes="客户提到想为养老做准备", next_steps="下周面谈", participants="张三丰、张太太")
    data.update(kw)
    return services.interaction_log(**data)


def _codes(exc_info) -> tuple[str, set]:
    return exc_info.value.code, set(exc_info.value.fields)


# ---- Interactions: validation, scope, audit, hook ------------------------------------------------------------------
def test_log_interaction_records_it_with_one_audit_event(bank, world):
    seq = audit_seq()
    i = _log(bank, world)
    assert (i.status, i.kind, i.staff_id, i.customer_id) == ("done", "call", bank.cm_a1.pk, world.zhang.pk)
    assert i.participants == ["张三丰", "张太太"] and i.occurred_at is not None
    assert i.branch_path == world.zhang.branch.path
    assert verbs_since(seq) == ["engagement.interaction_logged"]
    ev = AuditEvent.objects.get(verb="engagement.interaction_logged")
    assert "养老" not in json.dumps(ev.after, ensure_ascii=False)  # notes stay out of the audit trail


@pytest.mark.parametrize("change, code, field", [
    ({"subject": " "}, "subject_required", "subject"),
    ({"kind": "fax"}, "kind_invalid", "kind"),
    ({"participants": [f"人{i}" for i in range(11)]}, "participants_too_many", "participants"),
    ({"participants": ["长" * 41]}, "participants_invalid", "participants"),
    ({"notes": "记" * 4001}, "notes_too_long", "notes"),
    ({"occurred_at": timezone.now() + timedelta(hours=1)}, "occurred_at_future", "occurred_at"),
    ({"occurred_at": timezone.now() - timedelta(days=31)}, "occurred_at_too_old", "occurred_at"),
    ({"follow_up_on": date(2000, 1, 1)}, "due_on_past", "due_on"),
])
def test_log_interaction_validation_errors(bank, world, change, code, field):
    seq = audit_seq()
    with pytest.raises(ValidationFailed) as e:
        _log(bank, world, **change)
    assert _codes(e) == (code, {field})
    assert Interaction.objects.count() == 0 and verbs_since(seq) == []


def test_backdating_limit_is_a_parameter(bank, world):
    from bankcrm.core.models import ParameterVersion

    ParameterVersion.objects.create(code="engagement.backdate_days", value=60,
                                    effective_from=timezone.now() - timedelta(days=1), created_by=bank.admin,
                                    reason="测试")
    assert params.value("engagement.backdate_days") == 60
    i = _log(bank, world, occurred_at=timezone.now() - timedelta(days=45))
    assert i.pk


def test_scope_other_branch_and_unmanaged_customers_are_not_found(bank, world):
    seq = audit_seq()
    for actor in (bank.cm_b1, bank.intern):  # another branch; a colleague of the same branch who does not manage it
        with pytest.raises(NotFound):
            _log(bank, world, actor=actor)
    with pytest.raises(PermissionDenied):  # supervisors see the branch but do not log contacts
        _log(bank, world, actor=bank.supervisor_a)
    assert Interaction.objects.count() == 0 and verbs_since(seq) == []
    assert _log(bank, world, actor=bank.om_a1).staff_id == bank.om_a1.pk  # branch operations manager may


def test_hook_runs_after_commit_with_the_interaction_id_and_a_failing_hook_is_harmless(
        bank, world, django_capture_on_commit_callbacks, monkeypatch):
    seen = []

    def broken(_pk):
        raise RuntimeError("insight extraction failed")

    monkeypatch.setattr(services, "ON_INTERACTION_SAVED", [broken, seen.append])
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        i = _log(bank, world)
        assert seen == []  # nothing before the commit
    for cb in callbacks:
        cb()
    assert seen == [i.pk]
    with django_capture_on_commit_callbacks(execute=True):
        p = services.interaction_plan(actor=bank.cm_a1, customer_id=world.zhang.pk, kind="visit", subject="上门拜访",
                                      planned_at=timezone.now() + timedelta(days=2))
    with django_capture_on_commit_callbacks(execute=True):
        services.interaction_complete(actor=bank.cm_a1, interaction_id=p.pk, notes="聊了子女留学")
    assert seen == [i.pk, p.pk, p.pk]


def test_follow_up_date_creates_one_task(bank, world):
    day = timezone.localdate() + timedelta(days=3)
    i = _log(bank, world, follow_up_on=day)
    t = Task.objects.get(source="interaction")
    assert (t.source_ref, t.owner_id, t.customer_id, t.due_on) == (f"interaction:{i.pk}", bank.cm_a1.pk,
                                                                  world.zhang.pk, day)
    assert "下周面谈" in t.title


# ---- Planned contacts and the calendar -----------------------------------------------------------------------------
def test_plan_then_complete_or_cancel(bank, world):
    at = timezone.now() + timedelta(days=1)
    p = services.interaction_plan(actor=bank.cm_a1, customer_id=world.zhang.pk, kind="visit", subject="上门拜访",
                                  planned_at=at)
    assert p.status == "planned" and p.occurred_at is None
    with pytest.raises(ValidationFailed) as e:
        services.interaction_plan(actor=bank.cm_a1, customer_id=world.zhang.pk, kind="visit", subject="过去",
                                  planned_at=timezone.now() - timedelta(hours=2))
    assert e.value.code == "planned_at_past"
    with pytest.raises(ValidationFailed) as e:
        services.interaction_plan(actor=bank.cm_a1, customer_id=world.zhang.pk, kind="visit", subject="无时间",
                                  planned_at=None)
    assert e.value.code == "planned_at_required"
    with pytest.raises(PermissionDenied):  # an operations manager who sees the customer did not plan it
        services.interaction_complete(actor=bank.om_a1, interaction_id=p.pk)
    with pytest.raises(NotFound):
        services.interaction_complete(actor=bank.cm_b1, interaction_id=p.pk)
    done = services.interaction_complete(actor=bank.cm_a1, interaction_id=p.pk, notes="客户关心留学费用",
                                         next_steps="发送留学金融方案")
    assert done.status == "done" and done.occurred_at and "留学" in done.notes
    with pytest.raises(RuleViolation) as e:
        services.interaction_cancel(actor=bank.cm_a1, interaction_id=p.pk, reason="客户出差")
    assert e.value.code == "interaction_not_planned"
    q = services.interaction_plan(actor=bank.cm_a1, customer_id=world.li.pk, kind="call", subject="电话回访",
                                  planned_at=at)
    with pytest.raises(ValidationFailed) as e:
        services.interaction_cancel(actor=bank.cm_a1, interaction_id=q.pk, reason="")
    assert e.value.code == "reason_required"
    assert services.interaction_cancel(actor=bank.cm_a1, interaction_id=q.pk, reason="客户出差").status == "cancelled"


def test_calendar_shows_planned_contacts_task_due_dates_and_expected_closes(bank, world):
    from bankcrm.engagement.services import opportunity_create

    soon = timezone.now() + timedelta(days=2)
    p = services.interaction_plan(actor=bank.cm_a1, customer_id=world.zhang.pk, kind="visit", subject="上门拜访",
                                  planned_at=soon)
    t = services.task_create(actor=bank.cm_a1, title="准备资料", due_on=timezone.localdate() + timedelta(days=3),
                             customer_id=world.zhang.pk)
    o = opportunity_create(actor=bank.cm_a1, customer_id=world.zhang.pk, goal="retirement",
                           expected_close=timezone.localdate() + timedelta(days=4))
    start, end = timezone.localdate(), timezone.localdate() + timedelta(days=7)
    items = selectors.calendar_items(bank.cm_a1, start=start, end=end)
    found = {(x["kind"], x["id"]) for day in items.values() for x in day}
    assert {("contact", p.pk), ("task", t.pk), ("opportunity", o.pk)} <= found
    assert selectors.calendar_items(bank.cm_b1, start=start, end=end) == {}
    team = selectors.calendar_items(bank.supervisor_a, start=start, end=end, mine=False)
    assert {("contact", p.pk), ("task", t.pk)} <= {(x["kind"], x["id"]) for d in team.values() for x in d}
    assert selectors.calendar_items(bank.supervisor_b, start=start, end=end, mine=False) == {}


# ---- Tasks and reminders -------------------------------------------------------------------------------------------
def test_tasks_create_complete_cancel_and_buckets(bank, world):
    today = timezone.localdate()
    t1 = services.task_create(actor=bank.cm_a1, title="今天要办", due_on=today, customer_id=world.zhang.pk)
    t2 = services.task_create(actor=bank.cm_a1, title="下周要办", due_on=today + timedelta(days=7))
    Task.objects.filter(pk=t2.pk).update(due_on=today - timedelta(days=1))  # time passes
    t3 = services.task_create(actor=bank.cm_a1, title="月底要办", due_on=today + timedelta(days=20))
    mine = selectors.my_tasks(bank.cm_a1)
    assert ([t.pk for t in mine["overdue"]], [t.pk for t in mine["today"]], [t.pk for t in mine["upcoming"]]) == (
        [t2.pk], [t1.pk], [t3.pk])
    with pytest.raises(ValidationFailed) as e:
        services.task_create(actor=bank.cm_a1, title="昨天", due_on=today - timedelta(days=1))
    assert e.value.code == "due_on_past"
    with pytest.raises(ValidationFailed) as e:
        services.task_create(actor=bank.cm_a1, title="x", due_on=today)
    assert e.value.code == "title_required"
    with pytest.raises(NotFound):
        services.task_create(actor=bank.cm_b1, title="别人的客户", due_on=today, customer_id=world.zhang.pk)
    with pytest.raises(ValidationFailed) as e:  # the owner must be able to see the customer
        services.task_create(actor=bank.cm_a1, title="转给同事", due_on=today, customer_id=world.zhang.pk,
                             owner_id=bank.intern.pk)
    assert e.value.code == "owner_invalid"
    with pytest.raises(NotFound):
        services.task_complete(actor=bank.cm_b1, task_id=t1.pk)
    with pytest.raises(PermissionDenied):
        services.task_complete(actor=bank.om_a1, task_id=t1.pk)  # sees the customer, not the owner
    assert services.task_complete(actor=bank.cm_a1, task_id=t1.pk, result="已办").status == "done"
    with pytest.raises(RuleViolation):
        services.task_complete(actor=bank.cm_a1, task_id=t1.pk)
    assert services.task_cancel(actor=bank.cm_a1, task_id=t3.pk, reason="不再需要").status == "cancelled"


def test_task_source_reference_is_idempotent_and_system_needs_an_owner(bank, world):
    today = timezone.localdate()
    a = services.task_create(actor=bank.cm_a1, title="推荐跟进", due_on=today, customer_id=world.zhang.pk,
                             source="recommendation", source_ref="recommendation:7")
    b = services.task_create(actor=bank.cm_a1, title="推荐跟进", due_on=today, customer_id=world.zhang.pk,
                             source="recommendation", source_ref="recommendation:7")
    assert a.pk == b.pk and Task.objects.count() == 1
    with pytest.raises(ValidationFailed) as e:
        services.task_create(actor=None, title="生日问候", due_on=today, customer_id=world.zhang.pk,
                             source="life_event", source_ref="birthday:1")
    assert e.value.code == "owner_required"
    t = services.task_create(actor=None, title="生日问候", due_on=today, customer_id=world.zhang.pk,
                             owner_id=bank.cm_a1.pk, source="life_event", source_ref="birthday:1")
    assert t.owner_id == bank.cm_a1.pk and t.created_by_id is None


def test_reminder_job_marks_due_tasks_once(bank, world):
    today = timezone.localdate()
    due_tomorrow = services.task_create(actor=bank.cm_a1, title="明天到期", due_on=today + timedelta(days=1))
    later = services.task_create(actor=bank.cm_a1, title="下月到期", due_on=today + timedelta(days=30))
    assert services.task_reminders_mark() == 1
    assert services.task_reminders_mark() == 0  # a second run for the same day changes nothing
    due_tomorrow.refresh_from_db()
    later.refresh_from_db()
    assert due_tomorrow.remind_at is not None and later.remind_at is None
    kinds = [(i.kind, i.title) for i in items_for(bank.cm_a1)]
    assert ("engagement_task", "明天到期") in kinds and ("engagement_task", "下月到期") not in kinds
    from bankcrm.core.scheduling import JOBS

    assert "engagement.task_reminders" in JOBS


# ---- Plan templates and plans ----------------------------------------------------------------------------------------
def test_plan_step_dates_roll_to_working_days_and_never_before_today():
    today = date(2026, 5, 6)  # a Wednesday
    steps = [{"title": "a", "offset_days": 3}, {"title": "b", "offset_days": -30}, {"title": "c", "offset_days": 0}]
    got = rules.plan_step_dates(date(2026, 5, 6), steps, today=today)
    assert [s.due_on for s in got] == [date(2026, 5, 11), today, today]  # Saturday → Monday; past → today
    holidays = {date(2026, 10, 1), date(2026, 10, 2)}
    got = rules.plan_step_dates(date(2026, 9, 30), [{"title": "x", "offset_days": 1}], today=today,
                                holidays=holidays, makeup={date(2026, 10, 10)})
    assert got[0].due_on == date(2026, 10, 5)  # 1–2 Oct holidays, 3–4 weekend
    got = rules.plan_step_dates(date(2026, 10, 9), [{"title": "x", "offset_days": 1}], today=today,
                                makeup={date(2026, 10, 10)})
    assert got[0].due_on == date(2026, 10, 10)  # a makeup Saturday is a working day


@pytest.mark.parametrize("steps, code", [
    ("not json", "steps_not_json"), ([], "steps_required"), ({"title": "x"}, "steps_required"),
    ([{"title": "a", "offset_days": 1}] * 21, "steps_too_many"),
    ([{"title": "好", "offset_days": 1}], "steps_invalid"),
    ([{"title": "好的事项", "offset_days": "明天"}], "steps_invalid"),
    ([{"title": "好的事项", "offset_days": 4000}], "steps_invalid"),
    (["字符串"], "steps_invalid"),
])
def test_template_steps_validation(steps, code):
    with pytest.raises(ValidationFailed) as e:
        rules.clean_steps(steps)
    assert e.value.code == code and set(e.value.fields) == {"steps"}


def test_step_errors_name_every_bad_step():
    with pytest.raises(ValidationFailed) as e:
        rules.clean_steps([{"title": "好的事项", "offset_days": 1}, {"title": "x", "offset_days": 1},
                           {"title": "好的事项", "offset_days": 1.5}])
    assert [m[:3] for m in e.value.fields["steps"]] == ["第2步", "第3步"]


def test_default_templates_install_idempotently_and_admins_edit_them(bank):
    assert services.templates_install_default(actor=bank.admin) == 4
    assert services.templates_install_default(actor=bank.admin) == 0
    assert services.templates_install_default() == 0
    assert set(PlanTemplate.objects.values_list("code", flat=True)) == {"onboarding", "annual_review", "maturity",
                                                                        "high_value"}
    onboarding = PlanTemplate.objects.get(code="onboarding")
    assert onboarding.name == "新客户开户后30天内的三次联系" and len(onboarding.steps) == 3
    with pytest.raises(PermissionDenied):
        services.templates_install_default(actor=bank.cm_a1)
    with pytest.raises(PermissionDenied):
        services.template_save(actor=bank.cm_a1, template_id=onboarding.pk, code="", name="改名", steps=onboarding.steps)
    with pytest.raises(ValidationFailed) as e:
        services.template_save(actor=bank.admin, template_id=onboarding.pk, code="", name="改名",
                               steps=[{"title": "x", "offset_days": 1}])
    assert e.value.fields["steps"]
    t = services.template_save(actor=bank.admin, template_id=onboarding.pk, code="ignored", name="新客户首月联系",
                               steps=[{"title": "欢迎致电", "offset_days": 1}], active=True)
    assert (t.code, t.name, t.steps) == ("onboarding", "新客户首月联系", [{"title": "欢迎致电", "title_en": "",
                                                                      "offset_days": 1}])
    assert services.templates_install_default() == 0  # an edited default is left alone
    with pytest.raises(ValidationFailed) as e:
        services.template_save(actor=bank.admin, code="onboarding", name="重复", steps=t.steps)
    assert e.value.code == "code_taken"
    with pytest.raises(ValidationFailed) as e:
        services.template_save(actor=bank.admin, code="坏代码", name="坏代码模板", steps=t.steps)
    assert e.value.code == "code_invalid"


def test_start_plan_creates_dated_tasks_and_finishes_when_they_are_done(bank, world):
    services.templates_install_default()
    tpl = PlanTemplate.objects.get(code="onboarding")
    start = timezone.localdate()
    plan = services.plan_start(actor=bank.cm_a1, customer_id=world.li.pk, template_id=tpl.pk, start_on=start)
    tasks = list(plan.tasks.order_by("due_on", "id"))
    holidays, makeup = frozenset(), frozenset()
    expected = [s.due_on for s in rules.plan_step_dates(start, tpl.steps, today=start, holidays=holidays, makeup=makeup)]
    assert [t.due_on for t in tasks] == sorted(expected)
    assert all(t.owner_id == bank.cm_a1.pk and t.customer_id == world.li.pk and t.source == "plan" for t in tasks)
    assert {t.source_ref for t in tasks} == {f"plan:{plan.pk}:{i}" for i in range(3)}
    with pytest.raises(NotFound):
        services.plan_start(actor=bank.cm_b1, customer_id=world.li.pk, template_id=tpl.pk)
    with pytest.raises(ValidationFailed) as e:
        services.plan_start(actor=bank.cm_a1, customer_id=world.li.pk, template_id=99999)
    assert e.value.code == "template_invalid"
    with pytest.raises(ValidationFailed) as e:
        services.plan_start(actor=bank.cm_a1, customer_id=world.li.pk, template_id=tpl.pk,
                            start_on=start + timedelta(days=400))
    assert e.value.code == "start_on_invalid"
    services.task_complete(actor=bank.cm_a1, task_id=tasks[0].pk)
    services.task_cancel(actor=bank.cm_a1, task_id=tasks[1].pk, reason="客户已面谈")
    assert ActionPlan.objects.get(pk=plan.pk).status == "active"
    services.task_complete(actor=bank.cm_a1, task_id=tasks[2].pk)
    assert ActionPlan.objects.get(pk=plan.pk).status == "done"
    other = services.plan_start(actor=bank.cm_a1, customer_id=world.zhang.pk, template_id=tpl.pk)
    with pytest.raises(PermissionDenied):
        services.plan_cancel(actor=bank.om_a1, plan_id=other.pk, reason="不需要")
    services.plan_cancel(actor=bank.cm_a1, plan_id=other.pk, reason="客户不需要")
    assert set(other.tasks.values_list("status", flat=True)) == {"cancelled"}
    assert ActionPlan.objects.get(pk=other.pk).status == "cancelled"


# ---- Needs profile ---------------------------------------------------------------------------------------------------
def test_needs_profile_versions_and_history(bank, world):
    seq = audit_seq()
    p = services.needs_save(actor=bank.cm_a1, customer_id=world.zhang.pk, goals=["retirement", "liquidity"],
                            horizon="long", liquidity="medium", constraints="不接受本金亏损", notes="")
    assert (p.version, p.goals) == (1, ["retirement", "liquidity"])
    same = services.needs_save(actor=bank.cm_a1, customer_id=world.zhang.pk, goals=["liquidity", "retirement"],
                               horizon="long", liquidity="medium", constraints="不接受本金亏损")
    assert same.version == 1 and NeedsProfileVersion.objects.count() == 1  # unchanged: no new version
    p = services.needs_save(actor=bank.cm_a1, customer_id=world.zhang.pk, goals=["retirement", "education"],
                            horizon="medium", liquidity="medium", constraints="不接受本金亏损", notes="孙子明年上学")
    assert p.version == 2 and NeedsProfile.objects.count() == 1
    assert verbs_since(seq) == ["engagement.needs_saved", "engagement.needs_saved"]
    history = selectors.needs_history(bank.cm_a1, world.zhang)
    assert [h["version"].version for h in history] == [2, 1]
    changes = {c["field"]: c for c in history[0]["changes"]}
    assert set(changes) == {"goals", "horizon", "notes"}
    assert (changes["goals"]["added"], changes["goals"]["removed"]) == (["education"], ["liquidity"])
    assert (changes["horizon"]["before"], changes["horizon"]["after"]) == ("long", "medium")
    assert selectors.needs_history(bank.cm_b1, world.zhang) == []


@pytest.mark.parametrize("change, code", [
    ({"goals": []}, "goals_required"), ({"goals": ["lottery"]}, "goal_invalid"), ({"horizon": "forever"},
                                                                                  "horizon_invalid"),
    ({"liquidity": ""}, "liquidity_invalid"), ({"constraints": "长" * 301}, "constraints_too_long"),
])
def test_needs_validation(bank, world, change, code):
    data = dict(actor=bank.cm_a1, customer_id=world.zhang.pk, goals=["growth"], horizon="short", liquidity="high")
    data.update(change)
    with pytest.raises(ValidationFailed) as e:
        services.needs_save(**data)
    assert e.value.code == code and NeedsProfile.objects.count() == 0


def test_needs_scope(bank, world):
    for actor, exc in ((bank.cm_b1, NotFound), (bank.intern, NotFound), (bank.om_a1, PermissionDenied),
                       (bank.supervisor_a, PermissionDenied)):
        with pytest.raises(exc):
            services.needs_save(actor=actor, customer_id=world.zhang.pk, goals=["growth"], horizon="short",
                                liquidity="high")


def test_needs_diff_pure():
    before = rules.needs_data(["growth"], "short", "high", "", "")
    after = rules.needs_data(["growth", "protection"], "short", "low", "无", "")
    diff = {d["field"]: d for d in rules.needs_diff(before, after)}
    assert set(diff) == {"goals", "liquidity", "constraints"} and diff["goals"]["added"] == ["protection"]
    assert {d["field"] for d in rules.needs_diff(None, after)} == {"goals", "horizon", "liquidity", "constraints"}


# ---- Inbox -----------------------------------------------------------------------------------------------------------
def test_inbox_lists_due_tasks_waiting_referrals_and_todays_planned_contacts(bank, world):
    services.interaction_plan(actor=bank.cm_a1, customer_id=world.zhang.pk, kind="call", subject="今日电话",
                              planned_at=timezone.now() + timedelta(minutes=10))
    services.task_create(actor=bank.cm_a1, title="今日任务", due_on=timezone.localdate())
    services.referral_send(actor=bank.cm_a1, customer_id=world.zhang.pk, to_staff_id=bank.supervisor_a.pk,
                           reason="大额资金需要行长面谈")
    kinds = {i.kind for i in items_for(bank.cm_a1)}
    assert {"engagement_task", "engagement_contact"} <= kinds
    assert "engagement_referral" in {i.kind for i in items_for(bank.supervisor_a)}
    assert not [i for i in items_for(bank.cm_b1) if i.kind.startswith("engagement")]


# ---- Pages -----------------------------------------------------------------------------------------------------------
def test_panel_on_the_customer_page_with_quick_log(bank, world):
    c = login_client(bank.cm_a1)
    url = reverse("customers:detail", args=[world.zhang.pk])
    html = c.get(url).content.decode()
    assert 'data-testid="engagement-panel"' in html and 'data-testid="quick-log"' in html
    r = c.post(reverse("engagement:interaction_new", args=[world.zhang.pk]), {
        "from": "panel", "quick-mode": "done", "quick-kind": "call", "quick-at": "", "quick-subject": "电话问候",
        "quick-notes": "客户想了解养老产品", "quick-next_steps": "", "quick-participants": "",
        "quick-follow_up_on": ""})
    assert r.status_code == 302 and r["Location"] == url
    i = Interaction.objects.get()
    assert (i.subject, i.status, i.staff_id) == ("电话问候", "done", bank.cm_a1.pk)
    assert "客户想了解养老产品" in c.get(url).content.decode()
    # an error from the panel lands on the full form, which still returns to the customer page
    r = c.post(reverse("engagement:interaction_new", args=[world.zhang.pk]), {
        "from": "panel", "quick-mode": "planned", "quick-kind": "visit", "quick-at": "", "quick-subject": "拜访"})
    assert r.status_code == 200 and 'name="from" value="panel"' in r.content.decode()
    assert "计划时间" in r.content.decode() and Interaction.objects.count() == 1


def test_panel_slots_for_the_other_features_appear_only_when_their_templates_exist(bank, world, monkeypatch):
    from bankcrm.engagement import nav

    ctx = nav.panel_context(type("R", (), {"user": bank.cm_a1})(), world.zhang)
    assert set(ctx) >= {"has_insights_panel", "has_nba_panel"}
    monkeypatch.setattr(nav, "template_exists", lambda name: False)
    html = login_client(bank.cm_a1).get(reverse("customers:detail", args=[world.zhang.pk])).content.decode()
    assert 'data-testid="engagement-panel"' in html


def test_mobile_log_page_picks_one_of_my_customers_and_saves(bank, world):
    c = login_client(bank.cm_a1)
    html = c.get(reverse("engagement:log")).content.decode()
    assert 'data-testid="pick-q"' in html
    r = c.post(reverse("engagement:log_pick"), {"q": "张三"})
    assert world.zhang.customer_no in r.content.decode()
    r = login_client(bank.cm_b1).post(reverse("engagement:log_pick"), {"q": "张三"})
    assert world.zhang.customer_no not in r.content.decode()
    url = reverse("engagement:interaction_new", args=[world.zhang.pk])
    html = c.get(url).content.decode()
    assert 'data-testid="kind-call"' in html and "btn-lg" in html
    r = c.post(url, {"mode": "planned", "kind": "visit", "at": (timezone.localtime() + timedelta(days=1)).strftime(
        "%Y-%m-%dT%H:%M"), "subject": "上门拜访", "notes": "", "next_steps": "", "participants": ""})
    assert r.status_code == 302 and r["Location"] == reverse("engagement:log")
    assert Interaction.objects.get().status == "planned"
    assert login_client(bank.cm_b1).get(url).status_code == 404
    assert login_client(bank.supervisor_a).get(url).status_code == 403
    assert c.get(reverse("engagement:log")).content.decode().count('data-testid="pick-recent"') == 1
    assert AccessEvent.objects.filter(view="engagement.log_pick").exists()


def test_pages_render(bank, world):
    services.templates_install_default()
    tpl = PlanTemplate.objects.get(code="annual_review")
    plan = services.plan_start(actor=bank.cm_a1, customer_id=world.zhang.pk, template_id=tpl.pk)
    p = services.interaction_plan(actor=bank.cm_a1, customer_id=world.zhang.pk, kind="visit", subject="上门拜访",
                                  planned_at=timezone.now() + timedelta(days=1))
    services.needs_save(actor=bank.cm_a1, customer_id=world.zhang.pk, goals=["retirement"], horizon="long",
                        liquidity="low")
    c = login_client(bank.cm_a1)
    month = timezone.localdate().strftime("%Y-%m")
    for url in [reverse("engagement:tasks"), reverse("engagement:calendar"), f"{reverse('engagement:calendar')}?month={month}",
                f"{reverse('engagement:calendar')}?view=week", reverse("engagement:interactions"),
                reverse("engagement:interaction", args=[p.pk]), reverse("engagement:plan", args=[plan.pk]),
                reverse("engagement:plan_new", args=[world.zhang.pk]), reverse("engagement:needs", args=[world.zhang.pk]),
                reverse("engagement:needs_history", args=[world.zhang.pk]), reverse("engagement:task_new"),
                f"{reverse('engagement:calendar')}?month=bad"]:
        r = c.get(url)
        assert r.status_code == 200, url
    html = c.get(reverse("engagement:calendar")).content.decode()
    assert 'data-testid="cal-contact"' in html or p.planned_at.month != timezone.localdate().month
    assert "上门拜访" in c.get(f"{reverse('engagement:calendar')}?view=week&day={timezone.localdate() + timedelta(days=1)}"
                             ).content.decode()
    admin = login_client(bank.admin)
    for url in [reverse("engagement:templates"), reverse("engagement:template_new"),
                reverse("engagement:template", args=[tpl.pk])]:
        assert admin.get(url).status_code == 200, url
    sv = login_client(bank.supervisor_a)
    for url in [reverse("engagement:calendar") + "?scope=team", reverse("engagement:interactions") + "?mine=0",
                reverse("engagement:needs_history", args=[world.zhang.pk]), reverse("engagement:tasks")]:
        assert sv.get(url).status_code == 200, url
    for url in [reverse("engagement:interaction", args=[p.pk]), reverse("engagement:plan", args=[plan.pk]),
                reverse("engagement:needs_history", args=[world.zhang.pk])]:
        assert login_client(bank.supervisor_b).get(url).status_code == 404, url


def test_web_forms_save_and_show_field_errors(bank, world):
    services.templates_install_default()
    c = login_client(bank.cm_a1)
    today = timezone.localdate()
    r = c.post(reverse("engagement:task_new"), {"title": "准备资料", "due_on": str(today), "customer": world.zhang.pk})
    assert r.status_code == 302 and Task.objects.filter(title="准备资料").exists()
    r = c.post(reverse("engagement:task_new"), {"title": "过期", "due_on": str(today - timedelta(days=2))})
    assert r.status_code == 200 and "到期日不能早于今天" in r.content.decode()
    t = Task.objects.get(title="准备资料")
    assert c.post(reverse("engagement:task_complete", args=[t.pk]), {"result": "好"}).status_code == 302
    assert Task.objects.get(pk=t.pk).status == "done"
    tpl = PlanTemplate.objects.get(code="maturity")
    r = c.post(reverse("engagement:plan_new", args=[world.zhang.pk]), {"template": tpl.pk,
                                                                       "start_on": str(today + timedelta(days=30))})
    plan = ActionPlan.objects.get()
    assert r.status_code == 302 and r["Location"] == reverse("engagement:plan", args=[plan.pk])
    r = c.post(reverse("engagement:needs", args=[world.zhang.pk]), {"goals": ["housing"], "horizon": "medium",
                                                                    "liquidity": "high", "constraints": "",
                                                                    "notes": ""})
    assert r.status_code == 302 and NeedsProfile.objects.get().goals == ["housing"]
    r = c.post(reverse("engagement:needs", args=[world.zhang.pk]), {"horizon": "medium", "liquidity": "high"})
    assert r.status_code == 200 and "请至少选择一个理财目标" in r.content.decode()
    admin = login_client(bank.admin)
    r = admin.post(reverse("engagement:template", args=[tpl.pk]), {"name": "到期跟进", "steps": "[{\"title\": \"x\"}]",
                                                                   "active": "on"})
    assert r.status_code == 200 and "第1步" in r.content.decode()
    r = admin.post(reverse("engagement:template_new"), {"code": "vip_bday", "name": "贵宾生日关怀", "active": "on",
                                                        "steps": json.dumps([{"title": "生日前致电问候",
                                                                              "offset_days": -1}])})
    assert r.status_code == 302 and PlanTemplate.objects.filter(code="vip_bday").exists()


def test_due_on_horizon_and_participants_text_pure():
    assert rules.clean_participants("张三, 李四、王五；张三") == ["张三", "李四", "王五"]
    assert rules.task_bucket(date(2026, 1, 1), date(2026, 1, 2)) == "overdue"
    assert rules.month_bounds(2026, 2) == (date(2026, 1, 26), date(2026, 3, 1))
    assert rules.shift_month(2026, 12, 1) == (2027, 1) and rules.shift_month(2026, 1, -1) == (2025, 12)
