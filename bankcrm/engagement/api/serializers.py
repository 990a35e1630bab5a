"""Engagement API shapes (interactions, tasks and plans, plan templates, referrals, opportunities and the pipeline,
needs profiles, the calendar). Money is in fen (integer minor units).

Output serializers are read-only; input serializers name the only fields a client may set, so status, owner, staff,
branch path, sale, version and the like can never be assigned by a client. Customer names are masked (surname + *)
in lists; in a single object they follow the viewer (interns and temporary workers see them masked). Interaction
notes appear only in the detail of an interaction (the caller may see its customer)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from bankcrm.core import masking

from .. import rules
from ..models import ActionPlan, Interaction, NeedsProfile, NeedsProfileVersion, Opportunity, PlanTemplate, Referral, Task

FEN = "金额，单位：分（整数）/ amount in fen (integer minor units)"
MODES = [("done", _("已发生")), ("planned", _("计划"))]


def _viewer(serializer: serializers.Serializer) -> Any:
    return getattr(serializer.context.get("request"), "user", None)


def customer_name(serializer: serializers.Serializer, customer: Any, *, visible: bool = True) -> str:
    """Masked in lists (``context["masked"]``), for viewers who see masked names and where the viewer may not see the
    customer (a referral's receiver before accepting); in full otherwise."""
    if customer is None:
        return ""
    if (not visible or serializer.context.get("masked", True)
            or getattr(_viewer(serializer), "sees_masked_names", True)):
        return masking.mask_name(customer.name)
    return customer.name


class _CustomerMixin(serializers.Serializer):
    customer_no = serializers.CharField(source="customer.customer_no", read_only=True)
    customer_name = serializers.SerializerMethodField()

    def get_customer_name(self, obj: Any) -> str:
        return customer_name(self, obj.customer, visible=getattr(obj, "can_see_customer", True))


# ---- Interactions ----------------------------------------------------------------------------------------------------
class EgInteractionSerializer(_CustomerMixin, serializers.ModelSerializer):
    staff_name = serializers.CharField(source="staff.name", read_only=True)

    class Meta:
        model = Interaction
        fields = ["id", "customer_id", "customer_no", "customer_name", "staff_id", "staff_name", "kind", "status",
                  "planned_at", "occurred_at", "subject", "next_steps", "participants", "created_at", "updated_at"]
        read_only_fields = fields


class EgInteractionDetailSerializer(EgInteractionSerializer):
    class Meta(EgInteractionSerializer.Meta):
        fields = [*EgInteractionSerializer.Meta.fields, "notes"]
        read_only_fields = fields


class EgInteractionCreateSerializer(serializers.Serializer):
    customer_id = serializers.IntegerField(min_value=1)
    mode = serializers.ChoiceField(choices=MODES, default="done", help_text="done：记录已发生的联系；planned：计划联系")
    kind = serializers.ChoiceField(choices=Interaction.Kind.choices)
    subject = serializers.CharField(max_length=100)
    notes = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")
    next_steps = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    participants = serializers.ListField(child=serializers.CharField(max_length=40), required=False, default=list,
                                         max_length=rules.MAX_PARTICIPANTS)
    occurred_at = serializers.DateTimeField(required=False, allow_null=True, default=None,
                                            help_text="done：发生时间（默认现在）")
    planned_at = serializers.DateTimeField(required=False, allow_null=True, default=None,
                                           help_text="planned：计划时间（必填）")
    follow_up_on = serializers.DateField(required=False, allow_null=True, default=None,
                                         help_text="done：跟进日期，填写后生成跟进任务")


class EgInteractionCompleteSerializer(serializers.Serializer):
    notes = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")
    next_steps = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    occurred_at = serializers.DateTimeField(required=False, allow_null=True, default=None)


class EgReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200, allow_blank=True)


# ---- Tasks and plans -------------------------------------------------------------------------------------------------
class EgTaskSerializer(serializers.ModelSerializer):
    customer_no = serializers.CharField(source="customer.customer_no", read_only=True, default=None)
    owner_name = serializers.CharField(source="owner.name", read_only=True)
    bucket = serializers.SerializerMethodField(help_text="overdue / today / upcoming（仅待办任务）")

    class Meta:
        model = Task
        fields = ["id", "title", "due_on", "status", "bucket", "source", "source_ref", "customer_id", "customer_no",
                  "owner_id", "owner_name", "plan_id", "remind_at", "result", "created_at", "done_at"]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_bucket(self, obj: Task) -> str | None:
        from django.utils import timezone

        return rules.task_bucket(obj.due_on, timezone.localdate()) if obj.status == Task.Status.OPEN else None


class EgTaskCreateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=120)
    due_on = serializers.DateField()
    customer_id = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None)
    owner_id = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None,
                                        help_text="默认本人；他人须有任务权限且能查看该客户")
    remind_at = serializers.DateTimeField(required=False, allow_null=True, default=None)


class EgTaskResultSerializer(serializers.Serializer):
    result = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class EgPlanStepSerializer(serializers.Serializer):
    title = serializers.CharField()
    title_en = serializers.CharField(required=False)
    offset_days = serializers.IntegerField(help_text="相对开始日期的天数，可为负数")


class EgPlanTemplateSerializer(serializers.ModelSerializer):
    steps = EgPlanStepSerializer(many=True, read_only=True)

    class Meta:
        model = PlanTemplate
        fields = ["id", "code", "name", "name_en", "steps", "active"]
        read_only_fields = fields


class EgPlanTemplateWriteSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=20, required=False, allow_blank=True, default="",
                                 help_text="新建时必填；修改时忽略（代码创建后不能修改）")
    name = serializers.CharField(max_length=60)
    name_en = serializers.CharField(max_length=80, required=False, allow_blank=True, default="")
    steps = serializers.JSONField(help_text='[{"title": "...", "title_en": "...", "offset_days": 0}, ...]，1–20 步')
    active = serializers.BooleanField(required=False, default=True)


class EgInstalledSerializer(serializers.Serializer):
    installed = serializers.IntegerField(help_text="本次新安装的默认模板数")


class EgPlanSerializer(serializers.ModelSerializer):
    template_code = serializers.CharField(source="template.code", read_only=True)
    template_name = serializers.CharField(source="template.name", read_only=True)
    customer_no = serializers.CharField(source="customer.customer_no", read_only=True)
    tasks = EgTaskSerializer(many=True, read_only=True)

    class Meta:
        model = ActionPlan
        fields = ["id", "template_id", "template_code", "template_name", "customer_id", "customer_no", "owner_id",
                  "started_on", "status", "created_at", "tasks"]
        read_only_fields = fields


class EgPlanStartSerializer(serializers.Serializer):
    customer_id = serializers.IntegerField(min_value=1)
    template_id = serializers.IntegerField(min_value=1)
    start_on = serializers.DateField(required=False, allow_null=True, default=None, help_text="默认今天")


# ---- Referrals -------------------------------------------------------------------------------------------------------
class EgReferralSerializer(_CustomerMixin, serializers.ModelSerializer):
    from_staff_name = serializers.CharField(source="from_staff.name", read_only=True)
    to_staff_name = serializers.CharField(source="to_staff.name", read_only=True)

    class Meta:
        model = Referral
        fields = ["id", "customer_id", "customer_no", "customer_name", "from_staff_id", "from_staff_name",
                  "to_staff_id", "to_staff_name", "reason", "status", "outcome", "opportunity_id", "created_at",
                  "decided_at"]
        read_only_fields = fields


class EgReferralCreateSerializer(serializers.Serializer):
    customer_id = serializers.IntegerField(min_value=1)
    to_staff_id = serializers.IntegerField(min_value=1)
    reason = serializers.CharField(max_length=200)


class EgOutcomeSerializer(serializers.Serializer):
    outcome = serializers.CharField(max_length=200, allow_blank=True)


# ---- Opportunities ---------------------------------------------------------------------------------------------------
class EgOpportunitySerializer(_CustomerMixin, serializers.ModelSerializer):
    owner_name = serializers.CharField(source="owner.name", read_only=True)
    product_code = serializers.CharField(source="product.code", read_only=True, default=None)
    amount_fen = serializers.IntegerField(read_only=True, help_text=f"预计金额（成交后为成交金额）；{FEN}")

    class Meta:
        model = Opportunity
        fields = ["id", "customer_id", "customer_no", "customer_name", "owner_id", "owner_name", "title", "goal",
                  "stage", "product_id", "product_code", "amount_fen", "expected_close", "sale_id", "lost_reason",
                  "created_at", "updated_at", "closed_at"]
        read_only_fields = fields


class EgOpportunityCreateSerializer(serializers.Serializer):
    customer_id = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None,
                                           help_text="从转介创建时可省略")
    goal = serializers.ChoiceField(choices=rules.GOALS, help_text="需求类型")
    title = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    product_id = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None)
    amount_fen = serializers.IntegerField(min_value=0, required=False, default=0, help_text=FEN)
    expected_close = serializers.DateField(required=False, allow_null=True, default=None)
    owner_id = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None)
    referral_id = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None,
                                           help_text="已接收的转介（接收人创建）")


class EgOpportunityUpdateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=120, required=False)
    product_id = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    amount_fen = serializers.IntegerField(min_value=0, required=False, help_text=FEN)
    expected_close = serializers.DateField(required=False, allow_null=True)


class EgMoveSerializer(serializers.Serializer):
    stage = serializers.ChoiceField(choices=Opportunity.Stage.choices,
                                    help_text="contacted / proposal（只能向前）或 lost（须填原因）；won 只能通过成交")
    lost_reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class EgLinkSaleSerializer(serializers.Serializer):
    sale_id = serializers.IntegerField(min_value=1, help_text="该客户已成交的理财销售")


class EgPipelineColumnSerializer(serializers.Serializer):
    stage = serializers.ChoiceField(choices=Opportunity.Stage.choices)
    label = serializers.CharField()
    count = serializers.IntegerField()
    amount_fen = serializers.IntegerField(help_text=FEN)
    items = EgOpportunitySerializer(many=True)


class EgPipelineSerializer(serializers.Serializer):
    columns = EgPipelineColumnSerializer(many=True)
    open_count = serializers.IntegerField()
    open_amount_fen = serializers.IntegerField(help_text=FEN)
    closed_days = serializers.IntegerField(help_text="已成交/未成交列统计的天数")


# ---- Needs profile ---------------------------------------------------------------------------------------------------
class EgNeedsSerializer(serializers.ModelSerializer):
    goals = serializers.ListField(child=serializers.ChoiceField(choices=rules.GOALS), read_only=True)

    class Meta:
        model = NeedsProfile
        fields = ["customer_id", "goals", "horizon", "liquidity", "constraints", "notes", "version", "recorded_by_id",
                  "recorded_at"]
        read_only_fields = fields


class EgNeedsWriteSerializer(serializers.Serializer):
    goals = serializers.ListField(child=serializers.CharField(max_length=20), allow_empty=True,
                                  help_text="retirement 养老 / education 子女教育 / housing 购房 / growth 财富增值 / "
                                            "liquidity 流动性管理 / protection 保障")
    horizon = serializers.ChoiceField(choices=NeedsProfile.Horizon.choices)
    liquidity = serializers.ChoiceField(choices=NeedsProfile.Liquidity.choices)
    constraints = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    notes = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class EgNeedsChangeSerializer(serializers.Serializer):
    field = serializers.CharField()
    before = serializers.JSONField()
    after = serializers.JSONField()
    added = serializers.ListField(child=serializers.CharField(), required=False)
    removed = serializers.ListField(child=serializers.CharField(), required=False)


class EgNeedsVersionSerializer(serializers.ModelSerializer):
    changes = serializers.SerializerMethodField()

    class Meta:
        model = NeedsProfileVersion
        fields = ["version", "data", "recorded_by_id", "recorded_at", "changes"]
        read_only_fields = fields

    @extend_schema_field(EgNeedsChangeSerializer(many=True))
    def get_changes(self, obj: NeedsProfileVersion) -> list[dict[str, Any]]:
        return self.context.get("changes", {}).get(obj.pk, [])


# ---- Calendar --------------------------------------------------------------------------------------------------------
class EgCalendarItemSerializer(serializers.Serializer):
    day = serializers.DateField()
    kind = serializers.ChoiceField(choices=[("contact", _("计划联系")), ("task", _("任务到期")),
                                            ("opportunity", _("商机预计成交"))])
    id = serializers.IntegerField()
    time = serializers.CharField(help_text="HH:MM（计划联系）或空")
    title = serializers.CharField()
    customer_id = serializers.IntegerField(allow_null=True)
    customer_no = serializers.CharField(allow_null=True)
    staff_id = serializers.IntegerField()
