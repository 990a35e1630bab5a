from rest_framework import serializers

from bankcrm.core import masking
from bankcrm.customers.models import Consent, Customer, ManagerAssignment


class CustomerSerializer(serializers.ModelSerializer):
    """A customer as staff see them by default: identity number, phone, e-mail and address masked; the name in full
    unless the reader is an intern or temporary worker (surname + *)."""

    name = serializers.SerializerMethodField()
    id_number = serializers.SerializerMethodField()
    mobile = serializers.SerializerMethodField()
    email = serializers.SerializerMethodField()
    address = serializers.SerializerMethodField()
    branch_name = serializers.CharField(source="branch.name", read_only=True)

    class Meta:
        model = Customer
        fields = ["id", "customer_no", "kind", "name", "id_type", "id_number", "id_expires_on", "gender", "birth_date",
                  "nationality", "mobile", "email", "address", "occupation", "industry", "employer", "income_band",
                  "preferred_channel", "preferred_contact_time", "language", "legal_representative", "branch",
                  "branch_name", "status", "verified_at", "created_at"]
        read_only_fields = fields

    def _viewer(self):
        request = self.context.get("request")
        return getattr(request, "user", None)

    def get_name(self, obj: Customer) -> str:
        user = self._viewer()
        return masking.mask_name(obj.name) if getattr(user, "sees_masked_names", True) else obj.name

    def get_id_number(self, obj: Customer) -> str:
        return masking.mask_id_number(obj.id_number)

    def get_mobile(self, obj: Customer) -> str:
        return masking.mask_mobile(obj.mobile)

    def get_email(self, obj: Customer) -> str:
        return masking.mask_email(obj.email)

    def get_address(self, obj: Customer) -> str:
        return masking.mask_address(obj.address)


class CustomerCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Customer.Kind.choices)
    name = serializers.CharField(max_length=100)
    id_type = serializers.ChoiceField(choices=Customer.IdType.choices)
    id_number = serializers.CharField(max_length=30)
    mobile = serializers.CharField(max_length=20, required=False, default="", allow_blank=True)
    email = serializers.CharField(max_length=100, required=False, default="", allow_blank=True)
    address = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    id_expires_on = serializers.DateField(required=False, allow_null=True, default=None)
    occupation = serializers.CharField(max_length=40, required=False, default="", allow_blank=True)
    industry = serializers.CharField(max_length=40, required=False, default="", allow_blank=True)
    employer = serializers.CharField(max_length=100, required=False, default="", allow_blank=True)
    income_band = serializers.ChoiceField(choices=Customer._meta.get_field("income_band").choices, required=False, default="",
                                          allow_blank=True)
    preferred_channel = serializers.ChoiceField(choices=Customer._meta.get_field("preferred_channel").choices, required=False,
                                                default="", allow_blank=True)
    preferred_contact_time = serializers.CharField(max_length=40, required=False, default="", allow_blank=True)
    legal_representative = serializers.CharField(max_length=40, required=False, default="", allow_blank=True)
    branch = serializers.IntegerField(required=False, allow_null=True, default=None)
    primary_manager = serializers.IntegerField(required=False, allow_null=True, default=None)


class CustomerUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False)
    mobile = serializers.CharField(max_length=20, required=False, allow_blank=True)
    email = serializers.CharField(max_length=100, required=False, allow_blank=True)
    address = serializers.CharField(max_length=200, required=False, allow_blank=True)
    id_expires_on = serializers.DateField(required=False, allow_null=True)
    occupation = serializers.CharField(max_length=40, required=False, allow_blank=True)
    industry = serializers.CharField(max_length=40, required=False, allow_blank=True)
    employer = serializers.CharField(max_length=100, required=False, allow_blank=True)
    income_band = serializers.ChoiceField(choices=Customer._meta.get_field("income_band").choices, required=False, allow_blank=True)
    preferred_channel = serializers.ChoiceField(choices=Customer._meta.get_field("preferred_channel").choices, required=False,
                                                allow_blank=True)
    preferred_contact_time = serializers.CharField(max_length=40, required=False, allow_blank=True)
    legal_representative = serializers.CharField(max_length=40, required=False, allow_blank=True)
    reason = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)


class RevealSerializer(serializers.Serializer):
    field = serializers.ChoiceField(choices=["id_number", "mobile", "email", "address"])
    reason = serializers.CharField(max_length=200)


class RevealResultSerializer(serializers.Serializer):
    field = serializers.CharField()
    value = serializers.CharField()


class ConsentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Consent
        fields = ["id", "purpose", "scope", "channel", "evidence", "guardian_name", "granted_at", "withdrawn_at"]
        read_only_fields = fields


class ConsentCreateSerializer(serializers.Serializer):
    purpose = serializers.ChoiceField(choices=Consent.Purpose.choices)
    channel = serializers.ChoiceField(choices=Consent.Channel.choices)
    scope = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    evidence = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    guardian_name = serializers.CharField(max_length=40, required=False, default="", allow_blank=True)


class AssignmentSerializer(serializers.ModelSerializer):
    staff_no = serializers.CharField(source="staff.staff_no", read_only=True)
    staff_name = serializers.CharField(source="staff.name", read_only=True)

    class Meta:
        model = ManagerAssignment
        fields = ["id", "staff", "staff_no", "staff_name", "role", "started_at", "ended_at", "reason"]
        read_only_fields = fields


class AssignSerializer(serializers.Serializer):
    staff = serializers.IntegerField()
    role = serializers.ChoiceField(choices=ManagerAssignment.Role.choices, default="primary")
    reason = serializers.CharField(max_length=200)
