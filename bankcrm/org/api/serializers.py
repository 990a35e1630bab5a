from rest_framework import serializers

from bankcrm.core import masking
from bankcrm.core.access import EmploymentType, Role
from bankcrm.org.models import Branch, Staff


class BranchSerializer(serializers.ModelSerializer):
    class Meta:
        model = Branch
        fields = ["id", "code", "name", "name_en", "kind", "parent", "path", "address", "is_active"]
        read_only_fields = fields


class BranchCreateSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=12)
    name = serializers.CharField(max_length=60)
    name_en = serializers.CharField(max_length=80, required=False, default="", allow_blank=True)
    kind = serializers.ChoiceField(choices=Branch.Kind.choices)
    parent = serializers.IntegerField(required=False, allow_null=True)
    address = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)


class BranchUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=60)
    name_en = serializers.CharField(max_length=80, required=False, default="", allow_blank=True)
    address = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    is_active = serializers.BooleanField(required=False, default=True)


class StaffSerializer(serializers.ModelSerializer):
    """Staff as other staff see them: contact details masked (mobile 3+4, e-mail first letter)."""

    roles = serializers.SerializerMethodField()
    branch_name = serializers.CharField(source="branch.name", read_only=True)
    mobile = serializers.SerializerMethodField()
    email = serializers.SerializerMethodField()

    class Meta:
        model = Staff
        fields = ["id", "staff_no", "name", "branch", "branch_name", "employment_type", "title", "roles",
                  "contract_start", "contract_end", "is_active", "mobile", "email", "last_login"]
        read_only_fields = fields

    def get_roles(self, obj: Staff) -> list[str]:
        return sorted(obj.roles)

    def get_mobile(self, obj: Staff) -> str:
        return masking.mask_mobile(obj.mobile)

    def get_email(self, obj: Staff) -> str:
        return masking.mask_email(obj.email)


class StaffCreateSerializer(serializers.Serializer):
    staff_no = serializers.CharField(max_length=20)
    name = serializers.CharField(max_length=40)
    branch = serializers.IntegerField()
    employment_type = serializers.ChoiceField(choices=[t.value for t in EmploymentType])
    roles = serializers.ListField(child=serializers.ChoiceField(choices=[r.value for r in Role]), allow_empty=False)
    password = serializers.CharField(write_only=True, max_length=128)
    title = serializers.CharField(max_length=40, required=False, default="", allow_blank=True)
    contract_start = serializers.DateField(required=False, allow_null=True, default=None)
    contract_end = serializers.DateField(required=False, allow_null=True, default=None)
    mobile = serializers.CharField(max_length=20, required=False, default="", allow_blank=True)
    email = serializers.EmailField(required=False, default="", allow_blank=True)


class StaffUpdateSerializer(serializers.Serializer):
    """Only these fields can change here; roles, status and passwords have their own transitions."""

    name = serializers.CharField(max_length=40)
    branch = serializers.IntegerField()
    employment_type = serializers.ChoiceField(choices=[t.value for t in EmploymentType])
    title = serializers.CharField(max_length=40, required=False, default="", allow_blank=True)
    contract_start = serializers.DateField(required=False, allow_null=True, default=None)
    contract_end = serializers.DateField(required=False, allow_null=True, default=None)
    mobile = serializers.CharField(max_length=20, required=False, default="", allow_blank=True)
    email = serializers.EmailField(required=False, default="", allow_blank=True)


class RolesSerializer(serializers.Serializer):
    roles = serializers.ListField(child=serializers.ChoiceField(choices=[r.value for r in Role]), allow_empty=False)
    reason = serializers.CharField(max_length=300, required=False, default="", allow_blank=True)


class RolesResultSerializer(serializers.Serializer):
    removed = serializers.ListField(child=serializers.CharField())
    added = serializers.ListField(child=serializers.CharField())
    pending = serializers.ListField(child=serializers.CharField())


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300)


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    staff_no = serializers.CharField()
    name = serializers.CharField()
    branch = BranchSerializer()
    employment_type = serializers.CharField()
    roles = serializers.ListField(child=serializers.CharField())
    capabilities = serializers.ListField(child=serializers.CharField())
    requires_totp = serializers.BooleanField()
