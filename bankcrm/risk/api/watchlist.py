"""Watch-list API: GET the lists, POST a CSV (multipart) to import a list or a new version of it (screening of every
customer follows), GET one list with its refused rows, first entries and hit count."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bankcrm.core.api.base import ERRORS, HasCapability
from bankcrm.core.transactions import entrypoint
from bankcrm.risk import watchlist as svc
from bankcrm.risk.models import WatchList, WatchListEntry


@extend_schema_field({"type": "string", "pattern": "^(" + "|".join(WatchList.Kind.values) + ")$",
                      "description": "sanctions 制裁名单 / pep 政治公众人物 / internal 内部关注名单"})
class ListKindField(serializers.ChoiceField):
    """The list kind, described by a pattern: an enum named "kind" would collide with the API's other kind enums."""

    def __init__(self, **kwargs) -> None:
        super().__init__(choices=WatchList.Kind.choices, **kwargs)


class WatchListImportSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    kind = ListKindField()
    source = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    file = serializers.FileField(help_text="UTF-8 CSV，表头 name,birth_date,country,note（仅 name 必填）")


class RowErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField()
    code = serializers.CharField()
    message = serializers.CharField()


class WatchListSerializer(serializers.ModelSerializer):
    imported_by = serializers.CharField(source="imported_by.staff_no", default=None)
    kind = ListKindField(read_only=True)
    row_errors = RowErrorSerializer(source="errors", many=True, help_text="未导入的行：行号（表头为第1行）、错误代码、原因")

    class Meta:
        model = WatchList
        fields = ["id", "name", "version", "kind", "source", "active", "entries_count", "rows_total", "rejected_rows",
                  "row_errors", "file_sha256", "imported_by", "imported_at", "screened_at"]


class WatchListEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = WatchListEntry
        fields = ["id", "row_no", "name", "birth_date", "country", "note"]


class WatchListDetailSerializer(WatchListSerializer):
    entries = serializers.SerializerMethodField()
    hits = serializers.SerializerMethodField()

    class Meta(WatchListSerializer.Meta):
        fields = WatchListSerializer.Meta.fields + ["entries", "hits"]

    @extend_schema(responses=WatchListEntrySerializer(many=True))
    def get_entries(self, obj: WatchList) -> list:
        return WatchListEntrySerializer(obj.entries.all()[:500], many=True).data

    def get_hits(self, obj: WatchList) -> int:
        return svc.list_hits(self.context["request"].user, obj).count()


class WatchListListCreate(APIView):
    permission_classes = [HasCapability]
    capabilities = {"GET": "risk.watchlist", "POST": "risk.watchlist"}
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(responses={200: WatchListSerializer(many=True), **ERRORS}, operation_id="risk_watchlists_list")
    def get(self, request: Request) -> Response:
        return Response(WatchListSerializer(svc.watchlists(request.user)[:200], many=True).data)

    @extend_schema(request={"multipart/form-data": WatchListImportSerializer},
                   responses={201: WatchListDetailSerializer, **ERRORS}, operation_id="risk_watchlists_import")
    def post(self, request: Request) -> Response:
        s = WatchListImportSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        d = s.validated_data
        svc.check_size(d["file"].size)
        wl = entrypoint(svc.watchlist_import)(actor=request.user, name=d["name"], kind=d["kind"], source=d["source"],
                                              file_bytes=d["file"].read())
        wl = svc.watchlist_get(request.user, wl.pk)
        return Response(WatchListDetailSerializer(wl, context={"request": request}).data, status=201)


class WatchListDetail(APIView):
    permission_classes = [HasCapability]
    capability = "risk.watchlist"

    @extend_schema(responses={200: WatchListDetailSerializer, **ERRORS}, operation_id="risk_watchlists_get")
    def get(self, request: Request, pk: int) -> Response:
        wl = svc.watchlist_get(request.user, pk)
        return Response(WatchListDetailSerializer(wl, context={"request": request}).data)
