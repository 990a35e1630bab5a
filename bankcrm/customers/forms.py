from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Consent, Customer, ManagerAssignment

INCOME = [("", "—"), *Customer._meta.get_field("income_band").choices]
CHANNELS = [("", "—"), *Customer._meta.get_field("preferred_channel").choices]


class ProfileFields(forms.Form):
    """The fields a customer's profile has after registration (shared by the registration and edit forms)."""

    name = forms.CharField(label=_("姓名/企业名称"), max_length=100)
    id_expires_on = forms.DateField(label=_("证件有效期至"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    mobile = forms.CharField(label=_("手机号码"), max_length=20, required=False)
    email = forms.CharField(label=_("电子邮箱"), max_length=100, required=False)
    address = forms.CharField(label=_("联系地址"), max_length=200, required=False)
    occupation = forms.CharField(label=_("职业"), max_length=40, required=False)
    industry = forms.CharField(label=_("行业"), max_length=40, required=False)
    employer = forms.CharField(label=_("工作单位"), max_length=100, required=False)
    income_band = forms.ChoiceField(label=_("年收入"), choices=INCOME, required=False)
    preferred_channel = forms.ChoiceField(label=_("偏好联系渠道"), choices=CHANNELS, required=False)
    preferred_contact_time = forms.CharField(label=_("偏好联系时间"), max_length=40, required=False,
                                             help_text=_("例如：工作日晚上7点后"))
    legal_representative = forms.CharField(label=_("法定代表人（企业）"), max_length=40, required=False)


class CustomerForm(ProfileFields):
    kind = forms.ChoiceField(label=_("客户类型"), choices=Customer.Kind.choices, initial=Customer.Kind.PERSON)
    id_type = forms.ChoiceField(label=_("证件类型"), choices=Customer.IdType.choices, initial=Customer.IdType.RESIDENT_ID)
    id_number = forms.CharField(label=_("证件号码"), max_length=30,
                                help_text=_("居民身份证号码会校验校验位，出生日期和性别由号码自动得出"))

    field_order = ["kind", "name", "id_type", "id_number"]
    PROFILE = ("id_expires_on", "occupation", "industry", "employer", "income_band", "preferred_channel",
               "preferred_contact_time", "legal_representative")


class CustomerEditForm(ProfileFields):
    reason = forms.CharField(label=_("变更说明"), max_length=200, required=False, help_text=_("例如：客户本人来电告知新号码"))


class ConsentForm(forms.Form):
    purpose = forms.ChoiceField(label=_("授权目的"), choices=Consent.Purpose.choices)
    channel = forms.ChoiceField(label=_("渠道"), choices=Consent.Channel.choices)
    scope = forms.CharField(label=_("范围"), max_length=200, required=False)
    evidence = forms.CharField(label=_("凭证编号"), max_length=200, required=False)
    guardian_name = forms.CharField(label=_("监护人姓名（未满14周岁必填）"), max_length=40, required=False)


class AssignForm(forms.Form):
    staff = forms.ModelChoiceField(label=_("客户经理"), queryset=None)
    role = forms.ChoiceField(label=_("分工"), choices=ManagerAssignment.Role.choices)
    reason = forms.CharField(label=_("原因"), max_length=200)

    def __init__(self, *args, managers=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["staff"].queryset = managers
        self.fields["staff"].label_from_instance = lambda s: f"{s.name}（{s.staff_no}）· {s.branch.label}"


class RevealForm(forms.Form):
    field = forms.RegexField(regex=r"^(id_number|mobile|email|address|contact_\d+)$")
    reason = forms.CharField(max_length=200)
