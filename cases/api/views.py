"""The incidents API: the scoped list and case, the report, one POST per step of the loop,
bulk dispatch, counts per status, the export, the attachments; the category and
department tables for pickers.

Reads go through ``Incident.objects.restrict(user, action)`` (``ScopedViewSetMixin``): a
case out of scope is not found (404), exactly like a missing one. Every write calls one
function of ``cases.services``, which decides who may act (403), whether the case's state
and version allow the step (409) and whether the input holds (400, naming the field).
"""

import django_filters
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from cases import selectors
from cases.api import serializers as s
from cases.exports import INCIDENT_EXPORTER
from cases.filtersets import IncidentFilterSet
from cases.models import NUMBER_PATTERN, Category, CategoryKind, Department, Incident, IncidentAttachment
from cases.services import Involved, Upload, incident_bulk_dispatch, incident_opened, incident_report, incident_step
from cases.workflow import Step
from grids.models import Grid
from kaili.api.base import ScopedPermission, ScopedViewSetMixin, ServiceWriteMixin, parse_client_key
from kaili.api.base import step_action as record_step_action
from kaili.api.exports import FILE_RESPONSES, FORMAT_PARAMETER, ExportQueuedSerializer, FileExportMixin
from kaili.files import private_file_response
from kaili.models import User
from kaili.scope import CHANGE, VIEW
from populations.models import Person

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.UUID,
    OpenApiParameter.HEADER,
    description="客户端生成的提交标识（同 client_key）：同一标识再次提交返回 200 与首次创建的事件",
)
DETAIL_RESPONSES = {200: s.IncidentDetailSerializer}


class IncidentPermission(ScopedPermission):
    """The scope permission, and for reading and stepping also the handlers: members of a
    handling department hold no role on the grid, yet read the cases dispatched to them
    (``restrict`` lets them see exactly those) and take their steps (the service decides)."""

    def has_permission(self, request, view):
        if super().has_permission(request, view):
            return True
        return view.scope_action() == VIEW and selectors.handles_cases(request.user)


def step_action(name: str, step: str, serializer_class, url_path: str, doc: str):
    """One POST action taking ``step`` on the case addressed by number."""
    return record_step_action(name, step, serializer_class, url_path, doc, DETAIL_RESPONSES)


class IncidentViewSet(ServiceWriteMixin, FileExportMixin, ScopedViewSetMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Incidents in the caller's scope, addressed by number (``SJ-522601-2026-000123``).

    Grid workers report and check; centre staff file, cancel, dispatch, park, extend and
    evaluate; handlers (department members, the person dispatched to) sign for, return and
    report back on the cases dispatched to them; leaders read. Each step is a POST that
    takes an optional ``version`` (the case as the caller read it: a stale version is a
    409 "changed") and answers with the case as it now stands.
    """

    queryset = Incident.objects.select_related(*selectors.LIST_RELATED)
    serializer_class = s.IncidentListSerializer
    filterset_class = IncidentFilterSet
    permission_classes = [permissions.IsAuthenticated, IncidentPermission]
    lookup_field = "number"
    lookup_value_regex = NUMBER_PATTERN
    ordering_fields = ["reported_at", "occurred_at", "due_at", "number"]
    scope_actions = {
        "counts": VIEW,
        "attachment": VIEW,
        "bulk_dispatch": CHANGE,
        "file": VIEW,
        "cancel": VIEW,
        "dispatch_case": VIEW,
        "start": VIEW,
        "return_case": VIEW,
        "report_back": VIEW,
        "check": VIEW,
        "rework": VIEW,
        "park": VIEW,
        "extend": VIEW,
        "evaluate": VIEW,
        "solve_on_spot": VIEW,
        "clear": VIEW,
        "turn_into_dispute": VIEW,
    }

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "now": timezone.now()}

    def perform_content_negotiation(self, request, force=False):
        # A file download answers with the file whatever the client accepts.
        return super().perform_content_negotiation(request, force=force or self.action == "attachment")

    def case(self) -> Incident:
        """The case addressed by the URL, in the caller's scope for reading; 404 otherwise."""
        incident = self.get_queryset().select_related("category").filter(number=self.kwargs["number"]).first()
        if incident is None:
            raise Http404
        return incident

    def detail_response(self, number: str, status_code=status.HTTP_200_OK) -> Response:
        # Read back whatever the scope now says: a handler who returned a case no longer
        # sees it, yet gets the answer to their step.
        incident = selectors.incident_detail(Incident.objects.all(), number)
        return Response(s.IncidentDetailSerializer(incident, context=self.get_serializer_context()).data, status=status_code)

    # --- reading ---------------------------------------------------------------------------

    @extend_schema(responses=s.IncidentDetailSerializer)
    def retrieve(self, request, number=None):
        incident = selectors.incident_detail(self.get_queryset(), number)
        if incident is None:
            raise Http404
        incident_opened(actor=request.user, incident=incident)
        return Response(s.IncidentDetailSerializer(incident, context=self.get_serializer_context()).data)

    @extend_schema(responses=s.IncidentCountsSerializer, filters=True)
    @action(detail=False, methods=["get"], pagination_class=None)
    def counts(self, request):
        """Cases per status over the filtered list, with the overdue ones and the total."""
        return Response(selectors.status_counts(self.filter_queryset(self.get_queryset())))

    @extend_schema(
        parameters=[OpenApiParameter("attachment_id", OpenApiTypes.INT, OpenApiParameter.PATH)],
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY},
    )
    @action(detail=True, methods=["get"], url_path=r"attachments/(?P<attachment_id>\d+)", filter_backends=[])
    def attachment(self, request, number=None, attachment_id=None):
        """A photo or file of the case, for those who can read the case."""
        incident = self.case()
        attachment = get_object_or_404(IncidentAttachment, incident=incident, pk=attachment_id)
        incident_opened(actor=request.user, incident=incident, attachment=attachment)
        return private_file_response(
            attachment.file, filename=attachment.filename, content_type=attachment.content_type, inline=attachment.is_image
        )

    @extend_schema(parameters=[FORMAT_PARAMETER], responses={**FILE_RESPONSES, 202: ExportQueuedSerializer}, filters=True)
    @action(detail=False, methods=["get"])
    def export(self, request):
        """The filtered list as CSV or XLSX, audited; a large one is queued (202) and its
        progress and file are at ``/api/exports/{job}/``."""
        return self.filtered_export(request, filterset_class=IncidentFilterSet, kind=INCIDENT_EXPORTER.kind)

    # --- the report ------------------------------------------------------------------------

    # Codes and ids become records here; whether the caller may use them (an active minor
    # category, a grid or person in their scope) is the service's to say.

    def _category(self, code: str) -> Category:
        category = Category.objects.select_related("parent").filter(code=code.strip()).first()
        if category is None:
            raise exceptions.ValidationError({"category": [_("事件类别 %(code)s 不存在或已停用。") % {"code": code}]})
        return category

    def _grid(self, code: str) -> Grid:
        grid = Grid.objects.filter(code=code.strip()).first()
        if grid is None:
            raise exceptions.ValidationError({"grid": [_("网格 %(code)s 不存在或不在您的管辖范围内。") % {"code": code}]})
        return grid

    def _involved(self, people: list[dict]) -> list[Involved]:
        ids = [involved["person"] for involved in people if involved["person"] is not None]
        found = Person.objects.in_bulk(ids) if ids else {}
        for index, involved in enumerate(people, start=1):
            if involved["person"] is not None and involved["person"] not in found:
                message = _("第 %(n)d 位涉事人员不存在或不在您的管辖范围内。") % {"n": index}
                raise exceptions.ValidationError({"people": [message]})
        return [
            Involved(person=found.get(involved["person"]), name=involved["name"], role=involved["role"], note=involved["note"])
            for involved in people
        ]

    @extend_schema(
        request={"application/json": s.IncidentCreateSerializer, "multipart/form-data": s.IncidentCreateSerializer},
        parameters=[IDEMPOTENCY_HEADER],
        responses={201: s.IncidentDetailSerializer, 200: s.IncidentDetailSerializer},
    )
    def create(self, request):
        """Report an incident (201). The same ``client_key`` (or ``Idempotency-Key``) sent
        again by the same reporter answers 200 with the first report and creates nothing."""
        client_key = parse_client_key(request.data.get("client_key") or request.headers.get("Idempotency-Key"))
        # A phone that lost the answer retries: it gets the first answer, whatever the
        # catalogue or its scope became meanwhile.
        first = selectors.report_for_client_key(request.user, client_key)
        if first is not None:
            return self.detail_response(first.number)
        values = self.validated(s.IncidentCreateSerializer)
        uploads = [Upload(photo, IncidentAttachment.Kind.PHOTO) for photo in values.pop("photos")]
        uploads += [Upload(file, IncidentAttachment.Kind.FILE) for file in values.pop("files")]
        values.pop("client_key")
        incident, created = incident_report(
            actor=request.user,
            category=self._category(values.pop("category")),
            grid=self._grid(values.pop("grid")),
            people=self._involved(values.pop("people")),
            uploads=uploads,
            client_key=client_key,
            **values,
        )
        return self.detail_response(incident.number, status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    # --- the steps -------------------------------------------------------------------------

    def _department(self, code: str) -> Department | None:
        if not code.strip():
            return None
        department = Department.objects.filter(code=code.strip()).first()
        if department is None:
            raise exceptions.ValidationError({"department": [_("承办单位 %(code)s 不存在。") % {"code": code}]})
        return department

    def _handler(self, username: str) -> User | None:
        if not username.strip():
            return None
        handler = User.objects.filter(username=username.strip()).first()
        if handler is None:
            raise exceptions.ValidationError({"handler": [_("承办人账号 %(name)s 不存在。") % {"name": username}]})
        return handler

    def _payload(self, values: dict) -> dict:
        """The service's keyword arguments from a step's validated body."""
        if "department" in values:
            values["department"] = self._department(values["department"])
        if "handler" in values:
            values["handler"] = self._handler(values["handler"])
        if "photos" in values:
            values["uploads"] = [Upload(photo, IncidentAttachment.Kind.PHOTO) for photo in values.pop("photos")]
        # Optional values left out fall back to the service's defaults.
        return {key: value for key, value in values.items() if value is not None}

    def take_step(self, step: str, serializer_class) -> Response:
        incident = self.case()
        values = self.validated(serializer_class)
        version = values.pop("version", None)
        incident_step(actor=self.request.user, incident=incident, step=step, version=version, **self._payload(values))
        return self.detail_response(incident.number)

    file = step_action("file", Step.FILE, s.FileStepSerializer, "file", "File (立案) a report: the dispatch clock starts.")
    cancel = step_action("cancel", Step.CANCEL, s.ReasonStepSerializer, "cancel", "Cancel (注销) a report, with a reason.")
    dispatch_case = step_action(
        "dispatch_case",
        Step.DISPATCH,
        s.DispatchStepSerializer,
        "dispatch",
        "Dispatch (派遣) to a department (code) and/or a handler (username); the handling clock starts.",
    )
    start = step_action("start", Step.START, s.StepSerializer, "start", "The handler signs for (签收) the case.")
    return_case = step_action(
        "return_case", Step.RETURN, s.ReasonStepSerializer, "return", "The handler returns (退回) a case it does not own."
    )
    report_back = step_action(
        "report_back", Step.REPORT_BACK, s.ResultStepSerializer, "report-back", "The handler reports back (反馈) the result."
    )
    check = step_action("check", Step.CHECK, s.StepSerializer, "check", "The checker confirms on site and closes (核查结案).")
    rework = step_action("rework", Step.REWORK, s.ReasonStepSerializer, "rework", "The checker sends the case back (返工).")
    park = step_action("park", Step.PARK, s.ReasonStepSerializer, "park", "Park (挂账) a case that cannot be solved in time.")
    extend = step_action("extend", Step.EXTEND, s.ExtendStepSerializer, "extend", "Extend (延期) the handling limit.")
    evaluate = step_action("evaluate", Step.EVALUATE, s.EvaluateStepSerializer, "evaluate", "Evaluate (评价) a closed case.")
    solve_on_spot = step_action(
        "solve_on_spot", Step.SOLVE_ON_SPOT, s.ResultStepSerializer, "solve-on-spot", "The reporter closes it at once (就地解决)."
    )
    clear = step_action("clear", Step.CLEAR, s.ClearStepSerializer, "clear", "Mark a criminal case cleared (破案).")
    turn_into_dispute = step_action(
        "turn_into_dispute", Step.TRANSFER, s.StepSerializer, "turn-into-dispute", "Turn a dispute-related case into a dispute."
    )

    @extend_schema(request=s.BulkDispatchSerializer, responses=s.BulkDispatchResultSerializer)
    @action(detail=False, methods=["post"], url_path="bulk-dispatch", filter_backends=[], pagination_class=None)
    def bulk_dispatch(self, request):
        """Dispatch several cases to one department or person; each succeeds or is refused
        on its own."""
        values = self.validated(s.BulkDispatchSerializer)
        department, handler = self._department(values["department"]), self._handler(values["handler"])
        if department is None and handler is None:
            raise exceptions.ValidationError({"department": [_("请选择承办单位或承办人。")]})
        numbers = list(dict.fromkeys(number.strip().upper() for number in values["numbers"]))
        found = {incident.number: incident for incident in self.get_queryset().filter(number__in=numbers)}
        result = incident_bulk_dispatch(
            actor=request.user,
            incidents=[found[number] for number in numbers if number in found],
            department=department,
            handler=handler,
            note=values["note"],
        )
        messages = dict(result.refused)
        not_found = _("记录不存在或不在您的管辖范围内。")
        refused = [
            {"number": number, "message": messages.get(number, not_found)}
            for number in numbers
            if number not in found or number in messages
        ]
        body = {"dispatched": [incident.number for incident in result.done], "refused": refused}
        return Response(s.BulkDispatchResultSerializer(body).data)


# --- the tables -------------------------------------------------------------------------


class CategoryFilterSet(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=CategoryKind.choices, label=gettext_lazy("类型"))
    major = django_filters.CharFilter(field_name="parent__code", label=gettext_lazy("大类编码（列出其小类）"))
    level = django_filters.ChoiceFilter(
        method="by_level",
        choices=[("major", gettext_lazy("大类")), ("minor", gettext_lazy("小类"))],
        label=gettext_lazy("层级"),
    )
    active = django_filters.BooleanFilter(field_name="is_active", label=gettext_lazy("启用"))
    q = django_filters.CharFilter(method="search", label=gettext_lazy("编码或名称"))

    class Meta:
        model = Category
        fields = ["kind", "major", "level", "active", "q"]

    def by_level(self, queryset, name, value):
        return queryset.filter(parent__isnull=value == "major")

    def search(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(Q(code__startswith=value) | Q(name__icontains=value)) if value else queryset


class CategoryViewSet(viewsets.ReadOnlyModelViewSet):
    """The two-level incident categories (major and minor), with their kind, statistic key,
    default department and time limits; for pickers. Any signed-in user reads them."""

    queryset = Category.objects.select_related("parent", "department").order_by("code")
    serializer_class = s.CategorySerializer
    filterset_class = CategoryFilterSet
    permission_classes = [permissions.IsAuthenticated]
    lookup_field = "code"
    lookup_value_regex = r"[^/]{1,16}"
    ordering_fields = ["code", "sort", "name"]


class DepartmentFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=gettext_lazy("编码或名称"))

    class Meta:
        model = Department
        fields = ["q"]

    def search(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(Q(code__icontains=value) | Q(name__icontains=value)) if value else queryset


class DepartmentViewSet(viewsets.ReadOnlyModelViewSet):
    """The active handling departments, for the dispatch picker. Any signed-in user reads them."""

    queryset = Department.objects.filter(is_active=True).select_related("node").order_by("code")
    serializer_class = s.DepartmentSerializer
    filterset_class = DepartmentFilterSet
    permission_classes = [permissions.IsAuthenticated]
    lookup_field = "code"
    lookup_value_regex = r"[^/]{1,32}"
    ordering_fields = ["code", "name"]
