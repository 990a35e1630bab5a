"""Forms of the findings pages (raise, assign, actions, re-check, close, accountability) and the clause editor."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bankcrm.core.access import Role

from . import controls as registry
from .models import Accountability, Finding, Severity

DATE = forms.DateInput(attrs={"type": "date"})


def rectifier_choices(branch_path: str) -> list[tuple[int, str]]:
    """Active staff who may rectify in a branch: its supervisors and those of branches above, and compliance managers
    whose scope covers it."""
    from bankcrm.org.models import Staff

    from .finding_services import _may_rectify_in

    out = []
    for s in (Staff.objects.filter(is_active=True, role_assignments__role__in=[Role.BRANCH_SUPERVISOR,
                                                                               Role.COMPLIANCE_MANAGER])
              .select_related("branch").distinct().order_by("branch__path", "staff_no")):
        if _may_rectify_in(s, branch_path):
            out.append((s.pk, f"{s.staff_no} {s.name}（{s.branch.name} · {'、'.join(s.role_labels)}）"))
    return out


class FindingFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("状态"), required=False,
                               choices=[("live", _("未关闭")), ("", _("全部")), *Finding.Status.choices])
    severity = forms.ChoiceField(label=_("严重程度"), required=False, choices=[("", _("全部")), *Severity.choices])
    branch = forms.TypedChoiceField(label=_("机构"), required=False, coerce=int, empty_value=None)
    control = forms.ChoiceField(label=_("控制"), required=False)
    overdue = forms.BooleanField(label=_("仅看逾期"), required=False)

    def __init__(self, *args: Any, actor: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from bankcrm.org.models import Branch

        self.fields["branch"].choices = [("", _("全部机构"))] + [
            (b.pk, ("　" * max(b.depth - 1, 0)) + b.name) for b in Branch.objects.visible_to(actor).order_by("path")]
        self.fields["control"].choices = [("", _("全部控制"))] + [(c.code, c.label) for c in registry.REGISTRY.values()
                                                                 if c.automated]


class FindingRaiseForm(forms.Form):
    title = forms.CharField(label=_("发现的问题"), max_length=200)
    severity = forms.ChoiceField(label=_("严重程度"), choices=Severity.choices, initial=Severity.MEDIUM)
    branch = forms.TypedChoiceField(label=_("责任机构"), coerce=int)
    clause = forms.ChoiceField(label=_("对应条款"), required=False)
    detail = forms.CharField(label=_("详情"), required=False, widget=forms.Textarea(attrs={"rows": 4}))
    due_on = forms.DateField(label=_("整改期限"), required=False, widget=DATE,
                             help_text=_("留空则按严重程度自动计算（规则参数 supervision.rectify_days.*）"))

    def __init__(self, *args: Any, actor: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from bankcrm.core import access
        from bankcrm.org.models import Branch

        from .models import Clause

        root = access.scope_root(actor)
        branches = Branch.objects.filter(is_active=True).order_by("path")
        if root is not None:
            branches = branches.filter(path__startswith=root)
        self.fields["branch"].choices = [(b.pk, ("　" * max(b.depth - 1, 0)) + b.name) for b in branches]
        self.fields["clause"].choices = [("", "—")] + [(c.code, c.title) for c in Clause.objects.filter(active=True)]


class AssignForm(forms.Form):
    owner = forms.TypedChoiceField(label=_("新的整改责任人"), coerce=int)
    reason = forms.CharField(label=_("说明"), required=False, max_length=200)

    def __init__(self, *args: Any, branch_path: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = rectifier_choices(branch_path)


class ActionForm(forms.Form):
    action = forms.CharField(label=_("整改措施"), max_length=300)
    owner = forms.TypedChoiceField(label=_("责任人"), coerce=int)
    due_on = forms.DateField(label=_("完成期限"), widget=DATE)

    def __init__(self, *args: Any, branch_path: str = "", due_on: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = rectifier_choices(branch_path)
        self.fields["due_on"].initial = due_on or timezone.localdate()


class DoneForm(forms.Form):
    action_id = forms.IntegerField(widget=forms.HiddenInput)
    evidence = forms.CharField(label=_("整改说明"), widget=forms.Textarea(attrs={"rows": 2}), max_length=2000,
                               help_text=_("做了什么、相关凭证或业务编号"))


class RecheckForm(forms.Form):
    action_id = forms.IntegerField(widget=forms.HiddenInput)
    result = forms.ChoiceField(label=_("复查结论"), choices=[("pass", _("通过")), ("fail", _("不通过"))],
                               widget=forms.RadioSelect)
    note = forms.CharField(label=_("复查意见"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class CloseForm(forms.Form):
    note = forms.CharField(label=_("关闭意见"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    reason = forms.CharField(label=_("未全部复查通过时的关闭理由"), required=False,
                             widget=forms.Textarea(attrs={"rows": 2}))


class SubmitForm(forms.Form):
    note = forms.CharField(label=_("说明"), required=False, max_length=500)


class AccountabilityForm(forms.Form):
    staff = forms.TypedChoiceField(label=_("责任人员"), coerce=int)
    measure = forms.ChoiceField(label=_("问责措施"), choices=Accountability.Measure.choices)
    note = forms.CharField(label=_("说明"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, actor: Any = None, branch_path: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from bankcrm.org.models import Staff

        qs = Staff.objects.visible_to(actor).filter(branch__path__startswith=branch_path).order_by("staff_no")
        self.fields["staff"].choices = [(s.pk, f"{s.staff_no} {s.name}") for s in qs]


class ClauseForm(forms.Form):
    title = forms.CharField(label=_("条款"), max_length=200)
    title_en = forms.CharField(label=_("英文"), max_length=300, required=False)
    text = forms.CharField(label=_("系统落实方式"), required=False, widget=forms.Textarea(attrs={"rows": 4}))
    controls = forms.MultipleChoiceField(label=_("落实的控制"), required=False, widget=forms.CheckboxSelectMultiple)
    active = forms.BooleanField(label=_("启用"), required=False)
    reason = forms.CharField(label=_("修改说明"), required=False, max_length=200)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["controls"].choices = [(c.code, c.label) for c in registry.REGISTRY.values()]
