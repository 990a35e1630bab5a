"""Customer import API: POST a file (multipart) to import it in the background, GET its progress and errors."""

from __future__ import annotations

import json

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bankcrm.core.api.base import ERRORS, HasCapability
from bankcrm.core.errors import ValidationFailed
from bankcrm.core.transactions import entrypoint
from bankcrm.customers import bulk, import_files, imports
from bankcrm.customers.models import CustomerImport


class ImportCreateSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="CSV（UTF-8/GBK）或 .xlsx，第一行为表头")
    mode = serializers.ChoiceField(choices=CustomerImport.Mode.choices, default=CustomerImport.Mode.GOOD_ROWS)
    mapping = serializers.CharField(required=False, allow_blank=True, max_length=2000,
                                    help_text='JSON：导入字段 → 列序号（从0开始），如 {"name": 0, "id_number": 2}；省略则按表头自动对应')
    default_manager = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=2**62)
    validate_only = serializers.BooleanField(default=False, help_text="只校验，不导入")

    def validate_mapping(self, value: str) -> dict:
        if not value:
            return {}
        try:
            data = json.loads(value)
        except ValueError:
            raise serializers.ValidationError(_("列对应应为JSON对象")) from None
        if not isinstance(data, dict) or not all(isinstance(k, str) and type(v) is int for k, v in data.items()):
            raise serializers.ValidationError(_("列对应应为“字段: 列序号”的JSON对象"))
        return data


class ImportErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField()
    field = serializers.CharField()
    field_label = serializers.CharField()
    code = serializers.CharField()
    message = serializers.CharField()


class ImportSerializer(serializers.ModelSerializer):
    uploaded_by = serializers.CharField(source="uploaded_by.staff_no")
    progress = serializers.IntegerField()
    errors = ImportErrorSerializer(source="error_sample", many=True)
    error_report_available = serializers.SerializerMethodField()

    class Meta:
        model = CustomerImport
        fields = ["id", "original_name", "size", "sha256", "file_format", "encoding", "headers", "mapping", "mode", "status",
                  "branch", "default_manager", "uploaded_by", "total_rows", "processed_rows", "progress", "valid_rows",
                  "error_rows", "duplicate_rows", "imported_rows", "errors", "error_report_available", "failure_code",
                  "failure_message", "created_at", "validated_at", "started_at", "finished_at"]

    def get_error_report_available(self, obj: CustomerImport) -> bool:
        return bool(obj.error_report)


class CustomerImportListCreate(APIView):
    permission_classes = [HasCapability]
    capabilities = {"GET": "customers.import", "POST": "customers.import"}
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(responses={200: ImportSerializer(many=True), **ERRORS}, operation_id="customers_imports_list")
    def get(self, request: Request) -> Response:
        return Response(ImportSerializer(imports.imports_visible(request.user)[:100], many=True).data)

    @extend_schema(request={"multipart/form-data": ImportCreateSerializer}, responses={201: ImportSerializer, **ERRORS},
                   operation_id="customers_imports_create")
    def post(self, request: Request) -> Response:
        try:  # refuse from the header alone, before the body is parsed
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > import_files.max_bytes() + 64 * 1024:
            raise ValidationFailed("import_too_large", _("文件过大，单个文件不能超过%(limit)d MB") % {
                "limit": import_files.max_bytes() // 1024 // 1024}, fields={"file": [_("文件过大")]})
        s = ImportCreateSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        d = s.validated_data
        unknown = set(d.get("mapping") or {}) - set(bulk.INPUT_FIELDS)
        if unknown:
            raise ValidationFailed("mapping_invalid", _("未知的导入字段：%(f)s") % {"f": ", ".join(sorted(unknown))},
                                   fields={"mapping": [", ".join(sorted(unknown))]})
        imp = entrypoint(imports.import_submit)(actor=request.user, file=d["file"], mode=d["mode"], mapping=d.get("mapping") or None,
                                                default_manager_id=d.get("default_manager"), validate_only=d["validate_only"])
        imp.refresh_from_db()
        return Response(ImportSerializer(imp).data, status=201)


class CustomerImportDetail(APIView):
    permission_classes = [HasCapability]
    capability = "customers.import"

    @extend_schema(responses={200: ImportSerializer, **ERRORS}, operation_id="customers_imports_retrieve")
    def get(self, request: Request, pk: int) -> Response:
        return Response(ImportSerializer(imports.import_get(request.user, pk)).data)
