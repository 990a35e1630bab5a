"""Serializers of the partner API: staff (administration, under /api/v1/partners/) and partner-facing (under
/api/v1/partner/). Secrets appear only in the answers of the calls that create them (``token``, ``signing_secret``)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .. import partner_rules as rules
from ..models import ApiCall, ApiKey, Partner, PartnerEvent, PartnerProduct, WebhookDelivery, WebhookEndpoint

EVENT_CHOICES = list(rules.EVENTS)
EVENT_TYPE_CHOICES = list(rules.EVENT_LABELS)
SCOPE_CHOICES = list(rules.SCOPES)
KEY_STATES = ["active", "grace", "retired", "expired", "revoked"]
CALL_RESULTS = ["ok", "denied"]


def _events_field(**kw: Any) -> serializers.ListField:
    return serializers.ListField(child=serializers.ChoiceField(choices=EVENT_CHOICES), **kw)


def _scopes_field(**kw: Any) -> serializers.ListField:
    return serializers.ListField(child=serializers.ChoiceField(choices=SCOPE_CHOICES), **kw)


# ---- Staff: partners ----------------------------------------------------------------------------------------------------
class PartnerSerializer(serializers.ModelSerializer):
    allowed_events = _events_field(read_only=True)
    allowed_scopes = _scopes_field(read_only=True)
    ip_allowlist = serializers.ListField(child=serializers.CharField(), read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="staff_no", read_only=True)

    class Meta:
        model = Partner
        fields = ["id", "code", "name", "kind", "status", "contact", "allowed_events", "allowed_scopes", "ip_allowlist",
                  "note", "suspended_reason", "created_by", "created_at", "updated_at"]


class PartnerCreateSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=20)
    name = serializers.CharField(max_length=100)
    kind = serializers.ChoiceField(choices=Partner.Kind.choices)
    contact = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    allowed_events = _events_field(required=False, default=list)
    allowed_scopes = _scopes_field(required=False, default=list)
    ip_allowlist = serializers.ListField(child=serializers.CharField(max_length=50), required=False, default=list,
                                         help_text="IP 地址或网段（CIDR）")
    note = serializers.CharField(required=False, allow_blank=True, default="")


class PartnerUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False)
    contact = serializers.CharField(max_length=100, required=False, allow_blank=True)
    allowed_events = _events_field(required=False)
    allowed_scopes = _scopes_field(required=False)
    ip_allowlist = serializers.ListField(child=serializers.CharField(max_length=50), required=False)
    note = serializers.CharField(required=False, allow_blank=True)


class PartnerStatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Partner.Status.choices)
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class PartnerProductSerializer(serializers.ModelSerializer):
    product_id = serializers.IntegerField(read_only=True)
    code = serializers.CharField(source="product.code", read_only=True)
    name = serializers.CharField(source="product.name", read_only=True)
    kind = serializers.CharField(source="product.kind", read_only=True)

    class Meta:
        model = PartnerProduct
        fields = ["product_id", "code", "name", "kind", "linked_at"]


class PartnerProductsSetSerializer(serializers.Serializer):
    product_ids = serializers.ListField(child=serializers.IntegerField(min_value=1), max_length=500)


# ---- Staff: keys ------------------------------------------------------------------------------------------------------
class PtApiKeySerializer(serializers.ModelSerializer):
    scopes = _scopes_field(read_only=True)
    state = serializers.SerializerMethodField()
    replaced_by = serializers.SlugRelatedField(slug_field="key_id", read_only=True, allow_null=True)
    created_by = serializers.SlugRelatedField(slug_field="staff_no", read_only=True)

    class Meta:
        model = ApiKey
        fields = ["id", "key_id", "label", "scopes", "state", "created_at", "created_by", "expires_at", "replaced_by",
                  "grace_until", "revoked_at", "revoke_reason", "last_used_at"]

    @extend_schema_field(serializers.ChoiceField(choices=KEY_STATES))
    def get_state(self, obj: ApiKey) -> str:
        return obj.state(timezone.now())


class PtApiKeyIssueSerializer(serializers.Serializer):
    label = serializers.CharField(max_length=60)
    scopes = _scopes_field()
    days = serializers.IntegerField(min_value=1, max_value=730, required=False, allow_null=True, default=None)


class PtApiKeyIssuedSerializer(serializers.Serializer):
    key = PtApiKeySerializer()
    token = serializers.CharField(help_text="完整密钥，仅此一次返回，请交给合作机构妥善保存 / shown once")
    old_key_until = serializers.DateTimeField(required=False, allow_null=True)


class PtApiKeyRotateSerializer(serializers.Serializer):
    grace_hours = serializers.IntegerField(min_value=0, max_value=720, required=False, allow_null=True, default=None)


class PtReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200)


# ---- Staff: endpoints, deliveries, calls ------------------------------------------------------------------------------
class PtEndpointSerializer(serializers.ModelSerializer):
    events = _events_field(read_only=True)

    class Meta:
        model = WebhookEndpoint
        fields = ["id", "partner", "url", "description", "events", "active", "secret_rotated_at", "previous_valid_until",
                  "created_at", "updated_at"]


class PtEndpointCreateSerializer(serializers.Serializer):
    url = serializers.CharField(max_length=500)
    description = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    events = _events_field()
    active = serializers.BooleanField(required=False, default=True)


class PtEndpointUpdateSerializer(serializers.Serializer):
    url = serializers.CharField(max_length=500, required=False)
    description = serializers.CharField(max_length=100, required=False, allow_blank=True)
    events = _events_field(required=False)
    active = serializers.BooleanField(required=False)


class PtEndpointSecretSerializer(serializers.Serializer):
    endpoint = PtEndpointSerializer()
    signing_secret = serializers.CharField(help_text="签名密钥，仅此一次返回 / shown once")


class PtDeliverySerializer(serializers.ModelSerializer):
    partner = serializers.CharField(source="endpoint.partner.code", read_only=True)
    url = serializers.CharField(source="endpoint.url", read_only=True)
    event_id = serializers.CharField(source="event.event_id", read_only=True)
    type = serializers.ChoiceField(source="event.type", choices=EVENT_TYPE_CHOICES, read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = ["id", "delivery_id", "partner", "endpoint", "url", "event_id", "type", "payload_digest", "status",
                  "attempts", "next_attempt_at", "last_attempt_at", "last_status_code", "last_error", "delivered_at",
                  "created_at"]


class PtDeliveryFilterSerializer(serializers.Serializer):
    partner = serializers.IntegerField(required=False, min_value=1)
    endpoint = serializers.IntegerField(required=False, min_value=1)
    status = serializers.ChoiceField(choices=WebhookDelivery.Status.choices, required=False)
    type = serializers.ChoiceField(choices=EVENT_TYPE_CHOICES, required=False)


class PtApiCallSerializer(serializers.ModelSerializer):
    partner = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)

    class Meta:
        model = ApiCall
        fields = ["id", "occurred_at", "partner", "key_id", "method", "path", "status", "outcome", "duration_ms",
                  "request_id", "ip"]


class PtCallFilterSerializer(serializers.Serializer):
    partner = serializers.IntegerField(required=False, min_value=1)
    result = serializers.ChoiceField(choices=CALL_RESULTS, required=False)
    outcome = serializers.RegexField(r"^[a-z_]{1,40}$", required=False)
    key_id = serializers.RegexField(r"^bkp_[0-9a-f]{12}$", required=False)
    since = serializers.DateField(required=False)
    until = serializers.DateField(required=False)


# ---- The partner's own API --------------------------------------------------------------------------------------------
class PartnerMeSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=Partner.Kind.choices)
    key_id = serializers.CharField()
    key_expires_at = serializers.DateTimeField()
    key_grace_until = serializers.DateTimeField(allow_null=True, help_text="已轮换的旧密钥：停用时间")
    scopes = _scopes_field()
    events = _events_field()


class PartnerEventDeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookDelivery
        fields = ["delivery_id", "status", "attempts", "delivered_at"]


class PartnerEventSerializer(serializers.ModelSerializer):
    seq = serializers.IntegerField(source="pk", read_only=True, help_text="递增序号；用 ?after=<seq> 拉取之后的事件")
    id = serializers.CharField(source="event_id", read_only=True)
    type = serializers.ChoiceField(choices=EVENT_TYPE_CHOICES, read_only=True)
    data = serializers.DictField(source="payload", read_only=True)
    created_at = serializers.DateTimeField(source="occurred_at", read_only=True)
    deliveries = PartnerEventDeliverySerializer(many=True, read_only=True)

    class Meta:
        model = PartnerEvent
        fields = ["seq", "id", "type", "created_at", "digest", "data", "deliveries"]


class PartnerEventFilterSerializer(serializers.Serializer):
    after = serializers.IntegerField(required=False, min_value=0)
    type = serializers.ChoiceField(choices=EVENT_TYPE_CHOICES, required=False)


class PartnerProductOutSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.CharField()
    risk_level = serializers.IntegerField()
    currency = serializers.CharField()
    status = serializers.CharField()
    latest_nav_x10000 = serializers.IntegerField(allow_null=True, help_text="最新单位净值 × 10000")
    latest_nav_date = serializers.DateField(allow_null=True)


class PtNavPostSerializer(serializers.Serializer):
    nav_date = serializers.DateField()
    nav_x10000 = serializers.IntegerField(min_value=1, max_value=1_000_000, help_text="单位净值 × 10000，如 1.2345 → 12345")


class PtNavPostedSerializer(serializers.Serializer):
    product_code = serializers.CharField()
    nav_date = serializers.DateField()
    nav_x10000 = serializers.IntegerField()
