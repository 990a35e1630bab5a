from django import forms
from django.utils.translation import gettext_lazy as _

from bankcrm.core.access import EMPLOYMENT_LABELS, ROLE_LABELS, EmploymentType, Role

from .models import Branch


class LoginForm(forms.Form):
    username = forms.CharField(label=_("工号"), max_length=64, widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username"}))
    password = forms.CharField(label=_("密码"), max_length=128, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))


class TotpForm(forms.Form):
    token = forms.CharField(label=_("动态口令"), max_length=6, min_length=6,
                            widget=forms.TextInput(attrs={"autofocus": True, "inputmode": "numeric", "autocomplete": "one-time-code", "pattern": "[0-9]{6}"}))


class PasswordChangeForm(forms.Form):
    old_password = forms.CharField(label=_("原密码"), widget=forms.PasswordInput)
    new_password = forms.CharField(label=_("新密码"), widget=forms.PasswordInput, help_text=_("至少10位，不能全是数字，不能与工号或姓名相似"))
    new_password2 = forms.CharField(label=_("再次输入新密码"), widget=forms.PasswordInput)

    def clean(self):
        cd = super().clean()
        if cd.get("new_password") and cd.get("new_password") != cd.get("new_password2"):
            self.add_error("new_password2", _("两次输入的新密码不一致"))
        return cd


class TokenForm(forms.Form):
    name = forms.CharField(label=_("令牌名称"), max_length=60)
    days = forms.IntegerField(label=_("有效天数"), min_value=1, max_value=365, initial=90)


class BranchForm(forms.Form):
    code = forms.CharField(label=_("机构代码"), max_length=12)
    name = forms.CharField(label=_("机构名称"), max_length=60)
    name_en = forms.CharField(label=_("英文名称"), max_length=80, required=False)
    kind = forms.ChoiceField(label=_("机构类型"), choices=Branch.Kind.choices)
    parent = forms.ModelChoiceField(label=_("上级机构"), queryset=Branch.objects.none(), required=False)
    address = forms.CharField(label=_("地址"), max_length=200, required=False)
    is_active = forms.BooleanField(label=_("启用"), required=False, initial=True)

    def __init__(self, *args, branches=None, editing=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["parent"].queryset = branches if branches is not None else Branch.objects.none()
        self.fields["parent"].label_from_instance = lambda b: f"{'　' * (b.depth - 1)}{b.code} {b.name}"
        if editing:
            for f in ("code", "kind", "parent"):
                self.fields[f].disabled = True
                self.fields[f].required = False
        else:
            del self.fields["is_active"]


ROLE_CHOICES = [(r.value, ROLE_LABELS[r]) for r in Role]
EMPLOYMENT_CHOICES = [(t.value, EMPLOYMENT_LABELS[t]) for t in EmploymentType]


class StaffForm(forms.Form):
    staff_no = forms.CharField(label=_("工号"), max_length=20)
    name = forms.CharField(label=_("姓名"), max_length=40)
    branch = forms.ModelChoiceField(label=_("所属机构"), queryset=Branch.objects.none())
    employment_type = forms.ChoiceField(label=_("用工类型"), choices=EMPLOYMENT_CHOICES)
    title = forms.CharField(label=_("职务"), max_length=40, required=False)
    roles = forms.MultipleChoiceField(label=_("角色"), choices=ROLE_CHOICES, widget=forms.CheckboxSelectMultiple,
                                      help_text=_("授予系统管理员或合规经理角色需另一名管理员复核"))
    contract_start = forms.DateField(label=_("合同开始日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    contract_end = forms.DateField(label=_("合同结束日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}),
                                   help_text=_("顾问、实习生、临时工必填；到期次日起账户自动停止使用"))
    mobile = forms.CharField(label=_("手机号"), max_length=20, required=False)
    email = forms.EmailField(label=_("电子邮箱"), required=False)
    password = forms.CharField(label=_("初始密码"), widget=forms.PasswordInput, required=False,
                               help_text=_("至少10位；请通过安全渠道告知本人"))

    def __init__(self, *args, branches=None, editing=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["branch"].queryset = branches if branches is not None else Branch.objects.none()
        self.fields["branch"].label_from_instance = lambda b: f"{'　' * (b.depth - 1)}{b.code} {b.name}"
        if editing:
            self.fields["staff_no"].disabled = True
            self.fields["staff_no"].required = False
            del self.fields["password"]
            del self.fields["roles"]
        else:
            self.fields["password"].required = True


class RolesForm(forms.Form):
    roles = forms.MultipleChoiceField(label=_("角色"), choices=ROLE_CHOICES, widget=forms.CheckboxSelectMultiple)
    reason = forms.CharField(label=_("变更理由"), max_length=300, required=False)


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("原因"), max_length=300, widget=forms.Textarea(attrs={"rows": 2}))


class SetPasswordForm(forms.Form):
    password = forms.CharField(label=_("新密码"), widget=forms.PasswordInput)
