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

from django.db.models import Count, Prefetch, Q
from django.http import Http404, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from grids.models import Grid
from grids.selectors import grid_in_scope
from kaili.api.base import ScopedReadOnlyViewSet, ScopedViewSetMixin, ServiceWriteMixin
from kaili.api.errors import error_response
from kaili.api.exports import FILE_RESPONSES, FORMAT_PARAMETER, FileExportMixin, format_refused
from kaili.audit import audit_record
from kaili.models import AuditAction, User
from kaili.scope import ADD, CHANGE, EXPORT, VIEW, scope_predicate
from kaili.tabular import table_file
from populations import selectors, services
from populations.api import serializers as s
from populations.exports import masked_filters, people_export_response
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
from populations.selectors import COUNT


def node_in_scope(user, code: str, model, action: str) -> Grid | None:
    """The grid node ``code`` if ``user`` may do ``action`` on ``model`` there; None when
    missing or out of scope alike."""
    node = grid_in_scope(user=user, code=code, action=VIEW)
    return node if node is not None and scope_predicate(user, model, action)(node) else None


def enrollment_to_record_on(user, pk: int, model) -> Enrollment:
    """The enrollment a visit or placement is recorded against: one the caller sees, where
    they may add ``model``."""
    enrollment = Enrollment.objects.restrict(user, VIEW).select_related("person__unit").filter(pk=pk).first()
    if enrollment is None or not scope_predicate(user, model, ADD)(enrollment.person.unit):
        raise exceptions.ValidationError({"enrollment": [_("在册记录不存在或不在您的管辖范围内。")]})
    return enrollment


# --- households -------------------------------------------------------------------------


class HouseholdViewSet(ServiceWriteMixin, ScopedReadOnlyViewSet):
    """Households of the caller's units, addressed by household number.

    Grid workers and departments register and change them; unit heads, centre staff and
    programme officers read them.
    """

    queryset = Household.objects.select_related("unit", "head").annotate(member_count=Count("members")).order_by("number")
    serializer_class = s.HouseholdSerializer
    filterset_class = HouseholdFilterSet
    lookup_field = "number"
    lookup_value_regex = r"\d{1,20}"
    ordering_fields = ["number", "address", "created_at"]

    def _unit(self, code: str, action: str) -> Grid:
        unit = node_in_scope(self.request.user, code, Household, action)
        if unit is None:
            raise exceptions.ValidationError({"unit": [_("单元 %(code)s 不存在或不在您的管辖范围内。") % {"code": code}]})
        return unit

    @extend_schema(request=s.HouseholdCreateSerializer, responses={201: s.HouseholdSerializer})
    def create(self, request):
        values = self.validated(s.HouseholdCreateSerializer)
        unit = self._unit(values.pop("unit"), ADD)
        household = services.household_create(actor=request.user, unit=unit, **values)
        return self.written(household, status.HTTP_201_CREATED)

    @extend_schema(request=s.HouseholdUpdateSerializer, responses=s.HouseholdSerializer)
    def partial_update(self, request, number=None):
        household = self.get_object()
        values = self.validated(s.HouseholdUpdateSerializer, partial=True)
        if "unit" in values:
            values["unit"] = self._unit(values["unit"], CHANGE)
        return self.written(services.household_update(actor=request.user, household=household, **values))


# --- people -----------------------------------------------------------------------------


class PersonViewSet(ServiceWriteMixin, FileExportMixin, ScopedReadOnlyViewSet):
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
        # A household the caller sees, in a unit where they may add (or move in) people.
        user = self.request.user
        household = selectors.households_for(user).filter(number=number.strip()).first()
        if household is None or not scope_predicate(user, Person, action)(household.unit):
            raise exceptions.ValidationError(
                {"household": [_("住户 %(number)s 不存在或不在您的管辖范围内。") % {"number": number}]}
            )
        return household

    @extend_schema(request=s.PersonWriteSerializer, responses={201: s.PersonSerializer})
    def create(self, request):
        values = self.validated(s.PersonWriteSerializer)
        household = self._household(values.pop("household"), ADD)
        person = services.person_create(actor=request.user, household=household, **values)
        return self.written(person, status.HTTP_201_CREATED)

    @extend_schema(request=s.PersonWriteSerializer, responses=s.PersonSerializer)
    def partial_update(self, request, pk=None):
        person = self.get_object()
        values = self.validated(s.PersonWriteSerializer, partial=True)
        if "household" in values:
            values["household"] = self._household(values["household"], CHANGE)
        return self.written(services.person_update(actor=request.user, person=person, **values))

    @extend_schema(request=s.PersonSearchSerializer, responses=s.PersonSerializer(many=True))
    @action(detail=False, methods=["post"], filter_backends=[])
    def search(self, request):
        """``q`` in the body instead of the URL: a complete identity or phone number searched
        for stays out of URLs, proxies' and servers' logs. Answers like the list."""
        query = self.validated(s.PersonSearchSerializer)["q"]
        found = selectors.person_search(self.get_queryset(), query)  # paged in Person.Meta.ordering
        page = self.paginate_queryset(found)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        parameters=[OpenApiParameter("reason", OpenApiTypes.STR, description="查看原因（记入审计）")],
        responses=s.PersonRevealSerializer,
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def reveal(self, request, pk=None):
        """The clear identity and phone numbers, for the person's responsible staff; audited."""
        # A refusal is the service's PermissionDenied: kaili/api/errors.py answers 403 with its message.
        values = services.person_reveal(
            actor=request.user, person=self.get_object(), reason=request.query_params.get("reason", "")
        )
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
    return table_file(ENROLLMENT_EXPORT_HEADER, enrollment_rows(enrollments), file_format, "enrollments")


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


class EnrollmentViewSet(ServiceWriteMixin, FileExportMixin, ScopedReadOnlyViewSet):
    """People enrolled in the six programmes, as the programme rules let the caller see them.

    An officer sees the programmes they run within their grant, a grid worker the
    left-behind people of their grids, a responsible team member their own people;
    leaders see counts only (``counts``). Every read of one enrollment is audited.
    """

    # What the serializer shows, in a fixed number of queries: the person and unit, the
    # programme's detail record (one of six one-to-one joins) and the team.
    queryset = Enrollment.objects.select_related("person", "person__unit", *DETAIL_RELATED_NAMES.values()).prefetch_related(
        Prefetch("team", queryset=User.objects.only("id", "username"))
    )
    serializer_class = s.EnrollmentSerializer
    filterset_class = EnrollmentFilterSet
    ordering_fields = ["started_on", "next_due_on", "level"]
    scope_actions = {"export": EXPORT, "exit": CHANGE, "visits": VIEW, "counts": COUNT}

    def _person(self, person_id: int) -> Person:
        # The person must be visible to the caller and live where they may enroll people.
        user = self.request.user
        person = selectors.persons_for(user).filter(pk=person_id).first()
        if person is None or not scope_predicate(user, Enrollment, ADD)(person.unit):
            raise exceptions.ValidationError({"person": [_("人员不存在或不在您的管辖范围内。")]})
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
            raise exceptions.ValidationError({"team": [_("账号不存在或已停用：%(names)s") % {"names": "、".join(missing)}]})
        return team

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
        values = self.validated(s.EnrollmentCreateSerializer)
        person = self._person(values.pop("person"))
        team = self._team(values.pop("team"))
        # The service refuses (403) a programme the officer does not run.
        enrollment = services.enrollment_create(actor=request.user, person=person, team=team, **values)
        return self.written(enrollment, status.HTTP_201_CREATED)

    @extend_schema(request=s.EnrollmentUpdateSerializer, responses=s.EnrollmentSerializer)
    def partial_update(self, request, pk=None):
        enrollment = self.get_object()
        values = self.validated(s.EnrollmentUpdateSerializer, partial=True)
        if "team" in values:
            values["team"] = self._team(values["team"])
        return self.written(services.enrollment_update(actor=request.user, enrollment=enrollment, **values))

    @extend_schema(request=s.EnrollmentExitSerializer, responses=s.EnrollmentSerializer)
    @action(detail=True, methods=["post"], filter_backends=[])
    def exit(self, request, pk=None):
        """End the enrollment with a reason; current placements end the same day."""
        enrollment = self.get_object()
        values = self.validated(s.EnrollmentExitSerializer)
        enrollment = services.enrollment_exit(
            actor=request.user,
            enrollment=enrollment,
            exited_on=values["exited_on"],
            reason=values["exit_reason"],
            note=values["exit_note"],
        )
        return self.written(enrollment)

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
            changes={"format": file_format, "filters": masked_filters(request.query_params.dict()), "rows": enrollments.count()},
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
        node = node_in_scope(request.user, code, Enrollment, COUNT)
        if node is None:
            raise Http404
        result = selectors.programme_counts(request.user, node)
        body = {
            "node": node_counts(node, result["total"]),
            "children": [node_counts(child, counts) for child, counts in result["children"]],
        }
        return Response(s.EnrollmentCountsSerializer(body).data)


# --- visits, placements, facilities -----------------------------------------------------


class VisitViewSet(ServiceWriteMixin, ScopedViewSetMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Visits, follow-ups, check-ins and tests of the enrollments the caller sees."""

    queryset = Visit.objects.select_related("enrollment", "recorded_by")
    serializer_class = s.VisitSerializer
    filterset_class = VisitFilterSet
    ordering_fields = ["visited_on", "created_at"]

    def list(self, request):
        """Like any list, and audited: the visits are the programme records' own content
        (one row per page read, naming the enrollments it showed)."""
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        if page:
            audit_record(
                actor=request.user,
                action=AuditAction.READ_SENSITIVE,
                object_type="populations.visit",
                changes={"enrollments": sorted({visit.enrollment_id for visit in page}), "rows": len(page)},
            )
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(request=s.VisitCreateSerializer, responses={201: s.VisitSerializer})
    def create(self, request):
        values = self.validated(s.VisitCreateSerializer)
        enrollment = enrollment_to_record_on(request.user, values.pop("enrollment"), Visit)
        visit = services.visit_record(actor=request.user, enrollment=enrollment, **values)
        return self.written(visit, status.HTTP_201_CREATED)


class PlacementViewSet(ServiceWriteMixin, ScopedViewSetMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Places of enrolled people in facilities (beds, jobs, school places), within capacity."""

    queryset = Placement.objects.select_related("enrollment", "enrollment__person", "facility")
    serializer_class = s.PlacementSerializer
    filterset_class = PlacementFilterSet
    ordering_fields = ["started_on", "ended_on"]
    scope_actions = {"end": CHANGE}

    @extend_schema(request=s.PlacementCreateSerializer, responses={201: s.PlacementSerializer})
    def create(self, request):
        values = self.validated(s.PlacementCreateSerializer)
        enrollment = enrollment_to_record_on(request.user, values.pop("enrollment"), Placement)
        facility = Facility.objects.restrict(request.user, VIEW).filter(pk=values.pop("facility")).first()
        if facility is None:
            raise exceptions.ValidationError({"facility": [_("场所不存在或不在您的管辖范围内。")]})
        placement = services.placement_start(actor=request.user, enrollment=enrollment, facility=facility, **values)
        return self.written(placement, status.HTTP_201_CREATED)

    @extend_schema(request=s.PlacementEndSerializer, responses=s.PlacementSerializer)
    @action(detail=True, methods=["post"], filter_backends=[])
    def end(self, request, pk=None):
        """End a placement (the place is free again)."""
        placement = self.get_object()
        values = self.validated(s.PlacementEndSerializer)
        return self.written(services.placement_end(actor=request.user, placement=placement, **values))


class FacilityViewSet(ScopedReadOnlyViewSet):
    """Rehabilitation centres, labour bases, schools, homes... with places taken now."""

    queryset = (
        Facility.objects.select_related("grid")
        .annotate(occupied=Count("placements", filter=Q(placements__ended_on__isnull=True)))
        .order_by("kind", "name", "pk")
    )
    serializer_class = s.FacilitySerializer
    filterset_class = FacilityFilterSet
    ordering_fields = ["kind", "name", "capacity"]
