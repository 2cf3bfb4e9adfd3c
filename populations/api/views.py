"""The registry and programme API: households, people, enrollments, visits, placements,
facilities and the leaders' counts.

Every viewset reads through the model's ``restrict(user, action)`` (``ScopedViewSetMixin``),
so a record out of scope is not found, exactly like a missing one; every write calls one
function of ``populations.services`` (so the viewsets define ``create`` and
``partial_update`` themselves instead of taking DRF's model mixins, which save through the
serializer). Identity and phone numbers are shown masked; the clear numbers come one
person at a time through ``reveal``, which the service audits. Reading an enrollment
(health, criminal-record, drug or minors' data) is audited too.
"""

import csv
import io

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db.models import Count, Prefetch, Q
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from openpyxl import Workbook
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from grids.models import Grid
from kaili.api.base import ScopedReadOnlyViewSet, ScopedViewSetMixin
from kaili.api.errors import error_response
from kaili.audit import audit_record
from kaili.models import AuditAction, User
from kaili.scope import ADD, CHANGE, EXPORT, VIEW, permission_for, reachable_ranges, scope_filter
from populations import selectors, services
from populations.api import serializers as s
from populations.exports import XLSX_CONTENT_TYPE, people_export_response
from populations.filtersets import (
    EnrollmentFilterSet,
    FacilityFilterSet,
    HouseholdFilterSet,
    PersonFilterSet,
    PlacementFilterSet,
    VisitFilterSet,
)
from populations.models import (
    DETAIL_RELATED_NAMES,
    Enrollment,
    Facility,
    Household,
    Person,
    Placement,
    Programme,
    Visit,
)

# The scope action of the leaders' counts: permission ``populations.count_enrollment``.
COUNT = "count"
EXPORT_FORMATS = ("csv", "xlsx")
FORMAT_PARAMETER = OpenApiParameter("format", OpenApiTypes.STR, enum=list(EXPORT_FORMATS), description="文件格式")
FILE_RESPONSES = {(200, "text/csv"): OpenApiTypes.BINARY, (200, XLSX_CONTENT_TYPE): OpenApiTypes.BINARY}


def in_scope(user, model, action: str, grid_path: str) -> Q:
    """Rows (reached through ``grid_path``) where ``user`` may do ``action`` on ``model``."""
    return scope_filter(reachable_ranges(user, permission_for(model, action)), grid_path)


def not_in_scope(field: str, message: str):
    return exceptions.ValidationError({field: [message]})


class FileExportMixin:
    """DRF would read the ``format`` query parameter as a renderer choice; for file
    exports it names the file format instead."""

    def perform_content_negotiation(self, request, force=False):
        if getattr(self, "action", None) == "export":
            return super().perform_content_negotiation(request, force=True)
        return super().perform_content_negotiation(request, force)

    def export_format(self, request) -> str | None:
        file_format = request.query_params.get("format", "csv")
        return file_format if file_format in EXPORT_FORMATS else None


def format_refused():
    return error_response("invalid_format", _("format 只能是 csv 或 xlsx。"), fields={"format": [_("只能是 csv 或 xlsx。")]})


# --- households -------------------------------------------------------------------------


class HouseholdViewSet(ScopedReadOnlyViewSet):
    """Households of the caller's units, addressed by household number.

    Grid workers and departments register and change them; unit heads, centre staff and
    programme officers read them.
    """

    queryset = Household.objects.select_related("unit", "head").order_by("number")
    serializer_class = s.HouseholdSerializer
    filterset_class = HouseholdFilterSet
    lookup_field = "number"
    lookup_value_regex = r"\d{1,20}"
    ordering_fields = ["number", "address", "created_at"]

    def get_queryset(self):
        return super().get_queryset().annotate(member_count=Count("members"))

    def _unit(self, code: str, action: str) -> Grid:
        unit = Grid.objects.filter(in_scope(self.request.user, Household, action, ""), code=code.strip()).first()
        if unit is None:
            raise not_in_scope("unit", _("单元 %(code)s 不存在或不在您的管辖范围内。") % {"code": code})
        return unit

    def _respond(self, household: Household, status_code=status.HTTP_200_OK) -> Response:
        fresh = Household.objects.select_related("unit", "head").annotate(member_count=Count("members")).get(pk=household.pk)
        return Response(s.HouseholdSerializer(fresh).data, status=status_code)

    @extend_schema(request=s.HouseholdCreateSerializer, responses={201: s.HouseholdSerializer})
    def create(self, request):
        data = s.HouseholdCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        unit = self._unit(values.pop("unit"), ADD)
        household = services.household_create(actor=request.user, unit=unit, **values)
        return self._respond(household, status.HTTP_201_CREATED)

    @extend_schema(request=s.HouseholdUpdateSerializer, responses=s.HouseholdSerializer)
    def partial_update(self, request, number=None):
        household = self.get_object()
        data = s.HouseholdUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        if "unit" in values:
            values["unit"] = self._unit(values["unit"], CHANGE)
        return self._respond(services.household_update(actor=request.user, household=household, **values))


# --- people -----------------------------------------------------------------------------


class PersonViewSet(FileExportMixin, ScopedReadOnlyViewSet):
    """People of the caller's units, always with masked identity and phone numbers.

    ``q`` takes a name fragment, or a complete identity or phone number (matched through
    its keyed hash). ``reveal`` gives one person's clear numbers to their responsible staff,
    audited; ``export`` writes the registry file, clear only where the caller is responsible.
    """

    queryset = Person.objects.select_related("household", "unit")
    serializer_class = s.PersonSerializer
    filterset_class = PersonFilterSet
    ordering_fields = ["name", "birth_date", "created_at"]
    scope_actions = {"export": EXPORT, "reveal": VIEW, "search": VIEW}

    def _household(self, number: str, action: str) -> Household:
        household = (
            Household.objects.filter(in_scope(self.request.user, Person, action, "unit"), number=number.strip())
            .select_related("unit")
            .first()
        )
        if household is None:
            raise not_in_scope("household", _("住户 %(number)s 不存在或不在您的管辖范围内。") % {"number": number})
        return household

    def _respond(self, person: Person, status_code=status.HTTP_200_OK) -> Response:
        fresh = Person.objects.select_related("household", "unit").get(pk=person.pk)
        return Response(s.PersonSerializer(fresh).data, status=status_code)

    @extend_schema(request=s.PersonWriteSerializer, responses={201: s.PersonSerializer})
    def create(self, request):
        data = s.PersonWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        household = self._household(values.pop("household"), ADD)
        person = services.person_create(actor=request.user, household=household, **values)
        return self._respond(person, status.HTTP_201_CREATED)

    @extend_schema(request=s.PersonWriteSerializer, responses=s.PersonSerializer)
    def partial_update(self, request, pk=None):
        person = self.get_object()
        data = s.PersonWriteSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        if "household" in values:
            values["household"] = self._household(values["household"], CHANGE)
        return self._respond(services.person_update(actor=request.user, person=person, **values))

    @extend_schema(request=s.PersonSearchSerializer, responses=s.PersonSerializer(many=True))
    @action(detail=False, methods=["post"], filter_backends=[])
    def search(self, request):
        """``q`` in the body instead of the URL: a complete identity or phone number searched
        for stays out of URLs, proxies' and servers' logs. Answers like the list."""
        data = s.PersonSearchSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        found = selectors.person_search(self.get_queryset(), data.validated_data["q"]).order_by("household__number", "pk")
        page = self.paginate_queryset(found)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        parameters=[OpenApiParameter("reason", OpenApiTypes.STR, description="查看原因（记入审计）")],
        responses=s.PersonRevealSerializer,
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def reveal(self, request, pk=None):
        """The clear identity and phone numbers, for the person's responsible staff; audited."""
        person = self.get_object()
        try:
            values = services.person_reveal(actor=request.user, person=person, reason=request.query_params.get("reason", ""))
        except DjangoPermissionDenied as error:
            raise exceptions.PermissionDenied(str(error)) from None
        response = Response(s.PersonRevealSerializer(values).data)
        response["Cache-Control"] = "no-store"
        return response

    @extend_schema(parameters=[FORMAT_PARAMETER], responses=FILE_RESPONSES, filters=True)
    @action(detail=False, methods=["get"])
    def export(self, request):
        """The registry file of the filtered people (the import format), audited."""
        file_format = self.export_format(request)
        if file_format is None:
            return format_refused()
        people = self.filter_queryset(self.get_queryset())
        return people_export_response(
            actor=request.user, people=people, file_format=file_format, filters=request.query_params.dict()
        )


# --- enrollments ------------------------------------------------------------------------

ENROLLMENT_EXPORT_HEADER = [
    "programme",
    "name",
    "identity_number_masked",
    "unit_code",
    "level",
    "attention",
    "started_on",
    "next_due_on",
    "status",
]


def enrollment_rows(enrollments):
    enrollments = enrollments.select_related(None).prefetch_related(None).select_related("person", "person__unit")
    for enrollment in enrollments.order_by("programme", "pk").iterator(chunk_size=2000):
        yield [
            enrollment.get_programme_display(),
            enrollment.person.name,
            enrollment.person.id_number_masked,
            enrollment.person.unit.code,
            enrollment.level,
            enrollment.get_attention_display(),
            enrollment.started_on.isoformat(),
            enrollment.next_due_on.isoformat() if enrollment.next_due_on else "",
            enrollment.get_status_display(),
        ]


def enrollments_file(enrollments, file_format: str) -> tuple[bytes, str]:
    if file_format == "xlsx":
        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet("enrollments")
        sheet.append(ENROLLMENT_EXPORT_HEADER)
        for row in enrollment_rows(enrollments):
            sheet.append(row)
        buffer = io.BytesIO()
        workbook.save(buffer)
        return buffer.getvalue(), XLSX_CONTENT_TYPE
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(ENROLLMENT_EXPORT_HEADER)
    writer.writerows(enrollment_rows(enrollments))
    # A BOM so that Excel on Chinese Windows opens the UTF-8 file correctly.
    return ("\ufeff" + text.getvalue()).encode("utf-8"), "text/csv; charset=utf-8"


def programme_list(counts: dict) -> list[dict]:
    return [{"programme": p.value, "label": str(p.label), "count": counts.get(p.value, 0)} for p in Programme]


def node_counts(node: Grid, counts: dict) -> dict:
    return {
        "code": node.code,
        "name": node.name,
        "kind": node.kind,
        "total": sum(counts.values()),
        "programmes": programme_list(counts),
    }


def enrollments_loaded():
    """Enrollments with what the serializer shows, in a fixed number of queries: the person
    and unit, the programme's detail record (one of six one-to-one joins) and the team."""
    return Enrollment.objects.select_related("person", "person__unit", *DETAIL_RELATED_NAMES.values()).prefetch_related(
        Prefetch("team", queryset=User.objects.only("id", "username"))
    )


class EnrollmentViewSet(FileExportMixin, ScopedReadOnlyViewSet):
    """People enrolled in the six programmes, as the programme rules let the caller see them.

    An officer sees the programmes they run within their grant, a grid worker the
    left-behind people of their grids, a responsible team member their own people;
    leaders see counts only (``counts``). Every read of one enrollment is audited.
    """

    queryset = enrollments_loaded()
    serializer_class = s.EnrollmentSerializer
    filterset_class = EnrollmentFilterSet
    ordering_fields = ["started_on", "next_due_on", "level"]
    scope_actions = {"export": EXPORT, "exit": CHANGE, "visits": VIEW, "counts": COUNT}

    def _person(self, person_id: int) -> Person:
        # The person must be visible to the caller and live where they may enroll people.
        person = (
            Person.objects.restrict(self.request.user, VIEW)
            .filter(in_scope(self.request.user, Enrollment, ADD, "unit"), pk=person_id)
            .first()
        )
        if person is None:
            raise not_in_scope("person", _("人员不存在或不在您的管辖范围内。"))
        return person

    def _team(self, members: list[str]) -> list[User]:
        names = [str(member).strip() for member in members]
        ids = [int(name) for name in names if name.isdigit() and len(name) < 19]  # within bigint
        users = list(User.objects.filter(Q(username__in=names) | Q(pk__in=ids), is_active=True))
        by_username = {user.username: user for user in users}
        by_id = {str(user.pk): user for user in users}
        team, missing = [], []
        for name in names:
            user = by_username.get(name) or by_id.get(name)
            if user is None:
                missing.append(name)
            elif user not in team:
                team.append(user)
        if missing:
            raise not_in_scope("team", _("账号不存在或已停用：%(names)s") % {"names": "、".join(missing)})
        return team

    def _load(self, pk: int) -> Enrollment:
        return enrollments_loaded().get(pk=pk)

    def retrieve(self, request, *args, **kwargs):
        enrollment = self.get_object()
        # DOMAIN.md "Privacy": who read a programme record is kept in the audit trail.
        audit_record(
            actor=request.user,
            action=AuditAction.READ_SENSITIVE,
            obj=enrollment,
            object_repr=services.enrollment_repr(enrollment),
        )
        return Response(self.get_serializer(enrollment).data)

    @extend_schema(request=s.EnrollmentCreateSerializer, responses={201: s.EnrollmentSerializer})
    def create(self, request):
        data = s.EnrollmentCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        person = self._person(values.pop("person"))
        team = self._team(values.pop("team"))
        # The service refuses (403) a programme the officer does not run.
        enrollment = services.enrollment_create(actor=request.user, person=person, team=team, **values)
        return Response(s.EnrollmentSerializer(self._load(enrollment.pk)).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.EnrollmentUpdateSerializer, responses=s.EnrollmentSerializer)
    def partial_update(self, request, pk=None):
        enrollment = self.get_object()
        data = s.EnrollmentUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        if "team" in values:
            values["team"] = self._team(values["team"])
        if "details" in values:
            values["details"] = dict(values["details"])
        services.enrollment_update(actor=request.user, enrollment=enrollment, **values)
        return Response(s.EnrollmentSerializer(self._load(enrollment.pk)).data)

    @extend_schema(request=s.EnrollmentExitSerializer, responses=s.EnrollmentSerializer)
    @action(detail=True, methods=["post"], filter_backends=[])
    def exit(self, request, pk=None):
        """End the enrollment with a reason; current placements end the same day."""
        enrollment = self.get_object()
        data = s.EnrollmentExitSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        services.enrollment_exit(
            actor=request.user,
            enrollment=enrollment,
            exited_on=values["exited_on"],
            reason=values["exit_reason"],
            note=values["exit_note"],
        )
        return Response(s.EnrollmentSerializer(self._load(enrollment.pk)).data)

    @extend_schema(responses=s.VisitSerializer(many=True))
    @action(detail=True, methods=["get"], filter_backends=[])
    def visits(self, request, pk=None):
        """The enrollment's visits, follow-ups, check-ins and tests, latest first."""
        enrollment = self.get_object()
        visits = (
            Visit.objects.restrict(request.user, VIEW).filter(enrollment=enrollment).select_related("enrollment", "recorded_by")
        )
        # The follow-up forms are the programme record itself: their reading is audited too.
        audit_record(
            actor=request.user,
            action=AuditAction.READ_SENSITIVE,
            obj=enrollment,
            object_repr=services.enrollment_repr(enrollment),
            changes={"read": "visits"},
        )
        page = self.paginate_queryset(visits.order_by("-visited_on", "-id"))
        return self.get_paginated_response(s.VisitSerializer(page, many=True).data)

    @extend_schema(parameters=[FORMAT_PARAMETER], responses=FILE_RESPONSES, filters=True)
    @action(detail=False, methods=["get"])
    def export(self, request):
        """The filtered enrollments as a file (masked identity numbers), audited."""
        file_format = self.export_format(request)
        if file_format is None:
            return format_refused()
        enrollments = self.filter_queryset(self.get_queryset())
        content, content_type = enrollments_file(enrollments, file_format)
        audit_record(
            actor=request.user,
            action=AuditAction.EXPORT,
            object_type="populations.enrollment",
            changes={"format": file_format, "filters": request.query_params.dict(), "rows": enrollments.count()},
        )
        response = HttpResponse(content, content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="enrollments-{timezone.localdate():%Y%m%d}.{file_format}"'
        return response

    @extend_schema(
        parameters=[OpenApiParameter("node", OpenApiTypes.STR, required=True, description="网格编码")],
        responses=s.EnrollmentCountsSerializer,
    )
    @action(detail=False, methods=["get"], filter_backends=[], pagination_class=None)
    def counts(self, request):
        """Active enrollments per programme under a node and per child node: numbers only."""
        code = request.query_params.get("node", "").strip()
        if not code:
            return error_response("invalid", _("请指定网格编码。"), fields={"node": [_("请指定网格编码。")]})
        node = Grid.objects.filter(in_scope(request.user, Enrollment, COUNT, ""), code=code).first()
        if node is None:
            raise exceptions.NotFound(_("记录不存在或不在您的管辖范围内。"))
        result = selectors.programme_counts(request.user, node)
        body = {
            "node": node_counts(node, result["total"]),
            "children": [node_counts(child, counts) for child, counts in result["children"]],
        }
        return Response(s.EnrollmentCountsSerializer(body).data)


# --- visits, placements, facilities -----------------------------------------------------


class VisitViewSet(ScopedViewSetMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Visits, follow-ups, check-ins and tests of the enrollments the caller sees."""

    queryset = Visit.objects.select_related("enrollment", "recorded_by")
    serializer_class = s.VisitSerializer
    filterset_class = VisitFilterSet
    ordering_fields = ["visited_on", "created_at"]

    @extend_schema(request=s.VisitCreateSerializer, responses={201: s.VisitSerializer})
    def create(self, request):
        data = s.VisitCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        enrollment = (
            Enrollment.objects.restrict(request.user, VIEW)
            .filter(in_scope(request.user, Visit, ADD, "person__unit"), pk=values.pop("enrollment"))
            .first()
        )
        if enrollment is None:
            raise not_in_scope("enrollment", _("在册记录不存在或不在您的管辖范围内。"))
        visit = services.visit_record(actor=request.user, enrollment=enrollment, **values)
        visit = Visit.objects.select_related("enrollment", "recorded_by").get(pk=visit.pk)
        return Response(s.VisitSerializer(visit).data, status=status.HTTP_201_CREATED)


class PlacementViewSet(ScopedViewSetMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Places of enrolled people in facilities (beds, jobs, school places), within capacity."""

    queryset = Placement.objects.select_related("enrollment", "enrollment__person", "facility")
    serializer_class = s.PlacementSerializer
    filterset_class = PlacementFilterSet
    ordering_fields = ["started_on", "ended_on"]
    scope_actions = {"end": CHANGE}

    def _respond(self, placement: Placement, status_code=status.HTTP_200_OK) -> Response:
        fresh = Placement.objects.select_related("enrollment", "enrollment__person", "facility").get(pk=placement.pk)
        return Response(s.PlacementSerializer(fresh).data, status=status_code)

    @extend_schema(request=s.PlacementCreateSerializer, responses={201: s.PlacementSerializer})
    def create(self, request):
        data = s.PlacementCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        enrollment = (
            Enrollment.objects.restrict(request.user, VIEW)
            .filter(in_scope(request.user, Placement, ADD, "person__unit"), pk=values.pop("enrollment"))
            .first()
        )
        if enrollment is None:
            raise not_in_scope("enrollment", _("在册记录不存在或不在您的管辖范围内。"))
        facility = Facility.objects.restrict(request.user, VIEW).filter(pk=values.pop("facility")).first()
        if facility is None:
            raise not_in_scope("facility", _("场所不存在或不在您的管辖范围内。"))
        placement = services.placement_start(actor=request.user, enrollment=enrollment, facility=facility, **values)
        return self._respond(placement, status.HTTP_201_CREATED)

    @extend_schema(request=s.PlacementEndSerializer, responses=s.PlacementSerializer)
    @action(detail=True, methods=["post"], filter_backends=[])
    def end(self, request, pk=None):
        """End a placement (the place is free again)."""
        placement = self.get_object()
        data = s.PlacementEndSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        placement = services.placement_end(actor=request.user, placement=placement, **data.validated_data)
        return self._respond(placement)


class FacilityViewSet(ScopedReadOnlyViewSet):
    """Rehabilitation centres, labour bases, schools, homes... with places taken now."""

    queryset = Facility.objects.select_related("grid").order_by("kind", "name", "pk")
    serializer_class = s.FacilitySerializer
    filterset_class = FacilityFilterSet
    ordering_fields = ["kind", "name", "capacity"]

    def get_queryset(self):
        return super().get_queryset().annotate(occupied=Count("placements", filter=Q(placements__ended_on__isnull=True)))
