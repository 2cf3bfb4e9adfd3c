"""The disputes API: the scoped list and dispute page, the registration, one POST per step
of the "132" mediation flow, counts per status, the supervision table, the export and the
audited reveal of a party's identity number; the court's entrusted mediations and judicial
confirmations; the seeded tables for pickers.

Reads go through ``disputes_for(user, action)`` (``Dispute.objects.restrict``): a dispute
out of scope is not found (404), exactly like a missing one. Every write calls one function
of ``disputes.services``, which decides who may act (403), whether the dispute's state and
version allow the step (409) and whether the input holds (400, naming the field).
"""

import django_filters
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch, Q
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

from disputes import selectors
from disputes.api import serializers as s
from disputes.exports import DISPUTE_EXPORTER
from disputes.filtersets import DisputeFilterSet
from disputes.models import (
    NUMBER_PATTERN,
    Court,
    Dispute,
    DisputeCategory,
    DisputeParty,
    DisputeScale,
    EntrustedMediation,
    JudicialConfirmation,
    LineKind,
    MediationBody,
    MediationLine,
    Ruling,
    Tier,
    user_court_ids,
)
from disputes.services import Party, court_entrust, dispute_party_revealed, dispute_register, dispute_step
from disputes.workflow import Step
from grids.models import Grid
from kaili.api.base import ScopedPermission, ScopedViewSetMixin, ServiceWriteMixin, parse_client_key
from kaili.api.base import step_action as record_step_action
from kaili.api.exports import FILE_RESPONSES, FORMAT_PARAMETER, ExportQueuedSerializer, FileExportMixin
from kaili.exceptions import Conflict
from kaili.models import User
from kaili.scope import EVERYTHING, VIEW, Everything, NodeRange, permission_for, reachable_ranges, user_can
from populations.models import Person

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.UUID,
    OpenApiParameter.HEADER,
    description="客户端生成的提交标识（同 client_key）：同一标识再次提交返回 200 与首次登记的纠纷",
)
DETAIL_RESPONSES = {200: s.DisputeDetailSerializer}
# The viewset's method for each step (its URL is the step with dashes: "record-session").
STEP_NAMES = [step.value for step in Step if step not in (Step.REGISTER, Step.ENTRUST)]


def works_disputes_without_a_role(user) -> bool:
    """Court accounts, members of a mediation body and mediators assigned to a dispute may
    hold no role on the grid, yet read the disputes their court entrusted or is asked to
    confirm, or that they mediate (``dispute_access`` says exactly which); the pages let
    the same people in (``selectors.mediates_anything``)."""
    return bool(user_court_ids(user)) or selectors.mediates_anything(user)


class DisputePermission(ScopedPermission):
    """The scope permission; for reading and stepping also court accounts and body members
    (the steps are the service's to allow or refuse)."""

    def has_permission(self, request, view):
        if super().has_permission(request, view):
            return True
        user = request.user
        return bool(user and user.is_authenticated) and view.scope_action() == VIEW and works_disputes_without_a_role(user)


class DisputeTablePermission(permissions.BasePermission):
    """The seeded tables: for those who may view them through a role, and for court
    accounts and body members."""

    message = gettext_lazy("您没有执行此操作的权限。")

    def has_permission(self, request, view):
        user = request.user
        if not (user and user.is_authenticated):
            return False
        return user_can(user, view.queryset.model, VIEW) or works_disputes_without_a_role(user)


# --- codes, ranks, ids and usernames to records ---------------------------------------------
# Whether the caller may use them (an active category, a grid or person in their scope, a
# mediator of the area or body) is the service's to say.


def refused(field: str, message: str):
    return exceptions.ValidationError({field: [message]})


def category_by_code(code: str) -> DisputeCategory:
    category = DisputeCategory.objects.filter(code=code.strip()).first()
    if category is None:
        raise refused("category", _("纠纷类别 %(code)s 不存在或已停用。") % {"code": code})
    return category


def scale_by_code(code: str | None) -> DisputeScale | None:
    if not (code or "").strip():
        return None
    scale = DisputeScale.objects.filter(code=code.strip()).first()
    if scale is None:
        raise refused("scale", _("纠纷规模 %(code)s 不存在或已停用。") % {"code": code})
    return scale


def grid_by_code(code: str) -> Grid:
    grid = Grid.objects.filter(code=code.strip()).first()
    if grid is None:
        raise refused("grid", _("网格 %(code)s 不存在或不在您的管辖范围内。") % {"code": code})
    return grid


def body_by_id(pk: int | None) -> MediationBody | None:
    if pk is None:
        return None
    body = MediationBody.objects.select_related("line", "tier__line").filter(pk=pk).first()
    if body is None:
        raise refused("body", _("调解组织 %(id)s 不存在或已停用。") % {"id": pk})
    return body


def court_by_code(code: str) -> Court:
    court = Court.objects.filter(code=code.strip()).first()
    if court is None:
        raise refused("court", _("人民法院 %(code)s 不存在或已停用。") % {"code": code})
    return court


def tier_by(rank: int | None = None, pk: int | None = None, field: str = "tier") -> Tier | None:
    if rank is None and pk is None:
        return None
    tier = Tier.objects.select_related("line").filter(**({"rank": rank} if rank is not None else {"pk": pk})).first()
    if tier is None:
        raise refused(field, _("调解层级 %(value)s 不存在。") % {"value": rank if rank is not None else pk})
    return tier


def users_by_name(values: list[str] | None) -> list[User] | None:
    """Mediators by username, or by user id when no account has that username."""
    if values is None:
        return None
    values = [str(value).strip() for value in values if str(value).strip()]
    ids = [int(value) for value in values if value.isdigit()]
    found = list(User.objects.filter(Q(username__in=values) | Q(pk__in=ids)))
    by_name, by_id = {user.username: user for user in found}, {user.pk: user for user in found}
    users = []
    for value in values:
        user = by_name.get(value) or (by_id.get(int(value)) if value.isdigit() else None)
        if user is None:
            raise refused("mediators", _("调解员账号 %(name)s 不存在。") % {"name": value})
        if user not in users:
            users.append(user)
    return users


def parties_from(values: list[dict]) -> list[Party]:
    ids = [party["person"] for party in values if party["person"] is not None]
    found = Person.objects.in_bulk(ids) if ids else {}
    for index, party in enumerate(values, start=1):
        if party["person"] is not None and party["person"] not in found:
            raise refused("parties", _("第 %(n)d 位当事人：人员不存在或不在您的管辖范围内。") % {"n": index})
    return [Party(**{**party, "person": found.get(party["person"])}) for party in values]


def registration(values: dict) -> dict:
    """A registration body as ``dispute_register``'s keyword arguments; left-out optional
    values fall back to the service's defaults."""
    values["category"] = category_by_code(values["category"])
    values["scale"] = scale_by_code(values.get("scale"))
    values["grid"] = grid_by_code(values["grid"])
    values["parties"] = parties_from(values.get("parties") or [])
    return {key: value for key, value in values.items() if value is not None}


def step_payload(values: dict) -> dict:
    """A step body as ``dispute_step``'s payload."""
    if "tier_id" in values or "tier" in values:
        values["tier"] = tier_by(rank=values.get("tier"), pk=values.pop("tier_id", None))
    if "body" in values:
        values["body"] = body_by_id(values["body"])
    if "mediators" in values:
        values["mediators"] = users_by_name(values["mediators"])
    if "court" in values:
        values["court"] = court_by_code(values["court"])
    if "scale" in values:
        values["scale"] = scale_by_code(values["scale"])
    return {key: value for key, value in values.items() if value is not None}


def step_action(name: str, step: str, serializer_class, doc: str):
    """One POST action taking ``step`` on the dispute addressed by number."""
    return record_step_action(name, step, serializer_class, s.step_action_name(step), doc, DETAIL_RESPONSES)


class DisputeViewSet(ServiceWriteMixin, FileExportMixin, ScopedViewSetMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Disputes in the caller's scope, addressed by number (``MD-522601-2026-000123``).

    Grid workers and mediators register; the centre triages, routes and supervises; the
    mediators assigned (and the members of the body it was routed to) record sessions,
    escalate, record agreements, apply for judicial confirmation, follow up and close; a
    court account rules on a confirmation asked of its court and extends a mediation it
    entrusted; leaders read. Each step is a POST that takes an optional ``version`` (the
    dispute as the caller read it: a stale version is a 409 "changed") and answers with
    the dispute as it now stands.
    """

    queryset = Dispute.objects.all()
    serializer_class = s.DisputeListSerializer
    filterset_class = DisputeFilterSet
    permission_classes = [permissions.IsAuthenticated, DisputePermission]
    lookup_field = "number"
    lookup_value_regex = NUMBER_PATTERN
    ordering_fields = ["registered_at", "occurred_on", "due_on", "number"]
    # Steps are taken on what the caller reads; whether they may take them is the service's.
    scope_actions = {"counts": VIEW, "supervision": VIEW, "reveal": VIEW} | dict.fromkeys(STEP_NAMES, VIEW)

    def get_queryset(self):
        return selectors.disputes_for(self.request.user, self.scope_action())

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "today": timezone.localdate()}

    def dispute(self) -> Dispute:
        """The dispute addressed by the URL, in the caller's scope for reading; 404 otherwise."""
        dispute = self.get_queryset().filter(number=self.kwargs["number"]).first()
        if dispute is None:
            raise Http404
        return dispute

    def detail_response(self, number: str, status_code=status.HTTP_200_OK) -> Response:
        # Read back whatever the scope now says: the service has allowed the step.
        dispute = selectors.dispute_detail(Dispute.objects.all(), number)
        return Response(s.DisputeDetailSerializer(dispute, context=self.get_serializer_context()).data, status=status_code)

    # --- reading ---------------------------------------------------------------------------

    @extend_schema(responses=s.DisputeDetailSerializer)
    def retrieve(self, request, number=None):
        dispute = selectors.dispute_detail(self.get_queryset(), number)
        if dispute is None:
            raise Http404
        return Response(s.DisputeDetailSerializer(dispute, context=self.get_serializer_context()).data)

    @extend_schema(responses=s.DisputeCountsSerializer, filters=True)
    @action(detail=False, methods=["get"], pagination_class=None)
    def counts(self, request):
        """Disputes per status over the filtered list, with the overdue ones and the total."""
        return Response(selectors.status_counts(self.filter_queryset(self.get_queryset())))

    @extend_schema(responses=s.SupervisionRowSerializer(many=True), filters=True)
    @action(detail=False, methods=["get"], pagination_class=None)
    def supervision(self, request):
        """Open disputes of the filtered list by tier, with how many are overdue, due soon,
        and older than 30 and 90 days; the not yet triaged first, then by rank."""
        tiers = {tier.pk: tier for tier in selectors.tier_choices()}
        rows = [
            {**row, "tier": tiers.get(row["tier_id"])}
            for row in selectors.supervision_table(self.filter_queryset(self.get_queryset()))
        ]
        rows.sort(key=lambda row: row["tier"].rank if row["tier"] else 0)
        return Response(s.SupervisionRowSerializer(rows, many=True).data)

    @extend_schema(parameters=[FORMAT_PARAMETER], responses={**FILE_RESPONSES, 202: ExportQueuedSerializer}, filters=True)
    @action(detail=False, methods=["get"])
    def export(self, request):
        """The filtered list as CSV or XLSX (parties with masked numbers), audited; a large
        one is queued (202) and its progress and file are at ``/api/exports/{job}/``."""
        return self.filtered_export(request, filterset_class=DisputeFilterSet, kind=DISPUTE_EXPORTER.kind)

    @extend_schema(
        request=None,
        parameters=[OpenApiParameter("party_id", OpenApiTypes.INT, OpenApiParameter.PATH)],
        responses=s.RevealSerializer,
    )
    @action(
        detail=True, methods=["post"], url_path=r"parties/(?P<party_id>\d+)/reveal", url_name="party-reveal", filter_backends=[]
    )
    def reveal(self, request, number=None, party_id=None):
        """A party's clear identity number, for the centre and the dispute's mediators;
        audited, never cached. A registry person's numbers are revealed in the registry."""
        dispute = self.dispute()
        party = get_object_or_404(DisputeParty, dispute=dispute, pk=party_id)
        # A refusal is the service's PermissionDenied (403, audited).
        id_number = dispute_party_revealed(actor=request.user, dispute=dispute, party=party)
        response = Response(s.RevealSerializer({"id_number": id_number, "person": party.person_id}).data)
        response["Cache-Control"] = "no-store"
        return response

    # --- registering -----------------------------------------------------------------------

    @extend_schema(
        request=s.DisputeCreateSerializer,
        parameters=[IDEMPOTENCY_HEADER],
        responses={201: s.DisputeDetailSerializer, 200: s.DisputeDetailSerializer},
    )
    def create(self, request):
        """Register a dispute (201). The same ``client_key`` (or ``Idempotency-Key``) sent
        again by the same person answers 200 with the first one and creates nothing."""
        client_key = parse_client_key(request.data.get("client_key") or request.headers.get("Idempotency-Key"))
        # A phone that lost the answer retries: it gets the first answer, whatever the
        # catalogue or its scope became meanwhile.
        first = selectors.my_registrations(request.user).filter(client_key=client_key).first() if client_key else None
        if first is not None:
            return self.detail_response(first.number)
        values = self.validated(s.DisputeCreateSerializer)
        values["client_key"] = client_key
        dispute, created = dispute_register(actor=request.user, **registration(values))
        return self.detail_response(dispute.number, status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    # --- the steps -------------------------------------------------------------------------

    def take_step(self, step: str, serializer_class) -> Response:
        dispute = self.dispute()
        values = self.validated(serializer_class)
        version = values.pop("version", None)
        dispute_step(actor=self.request.user, dispute=dispute, step=step, version=version, **step_payload(values))
        return self.detail_response(dispute.number)

    triage = step_action(
        "triage",
        Step.TRIAGE,
        s.TriageSerializer,
        "Triage (研判分流): the line and tier (rank 11–33 or tier_id), body (id), mediators (usernames), deadline.",
    )
    route = step_action("route", Step.ROUTE, s.AssignmentSerializer, "Route (指派) the dispute again: tier, body, mediators.")
    record_session = step_action(
        "record_session", Step.RECORD_SESSION, s.SessionStepSerializer, "Record a mediation session (调解记录) and its outcome."
    )
    escalate = step_action(
        "escalate", Step.ESCALATE, s.EscalateSerializer, "Escalate (升级) to the next tier after this one failed."
    )
    extend = step_action(
        "extend", Step.EXTEND, s.ExtendSerializer, "Extend (延期) the mediation limit, with both parties' consent."
    )
    record_agreement = step_action(
        "record_agreement", Step.RECORD_AGREEMENT, s.AgreementStepSerializer, "Record the agreement (调解协议) reached."
    )
    apply_confirmation = step_action(
        "apply_confirmation",
        Step.APPLY_CONFIRMATION,
        s.ConfirmationStepSerializer,
        "The parties apply (court code) for judicial confirmation (司法确认) within 30 days of the agreement.",
    )
    record_ruling = step_action(
        "record_ruling", Step.RECORD_RULING, s.RulingSerializer, "The court's acceptance or ruling on the confirmation."
    )
    follow_up = step_action("follow_up", Step.FOLLOW_UP, s.FollowUpStepSerializer, "A follow-up visit (回访) on performance.")
    close = step_action("close", Step.CLOSE, s.CloseSerializer, "Close (结案): resolved, or unresolved with other routes told.")
    withdraw = step_action("withdraw", Step.WITHDRAW, s.WithdrawSerializer, "Withdraw (撤回) the dispute, with a reason.")


# --- the court's records ----------------------------------------------------------------


class CourtRecordViewSet(ServiceWriteMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Records of the courts whose accounts the caller holds; anyone else lists nothing."""

    permission_classes = [permissions.IsAuthenticated]

    def dispute_step(self, record, dispute: Dispute, step: str, serializer_class) -> Response:
        values = self.validated(serializer_class)
        version = values.pop("version", None)
        dispute_step(actor=self.request.user, dispute=dispute, step=step, version=version, **step_payload(values))
        return self.written(record)


class EntrustedMediationViewSet(CourtRecordViewSet):
    """Mediations the caller's courts referred before filing (委派, 30 days) or entrusted
    after filing (委托, 15 days ordinary procedure, 7 simple): their deadline, extensions
    and the result sent back when the dispute closes."""

    queryset = EntrustedMediation.objects.select_related("court", "body", "dispute")
    serializer_class = s.EntrustedMediationSerializer
    filterset_fields = ["result", "referral"]
    ordering_fields = ["received_on", "due_on"]

    def get_queryset(self):
        return selectors.court_entrusted(self.request.user)

    @extend_schema(request=s.EntrustSerializer, responses={201: s.EntrustedMediationSerializer})
    def create(self, request):
        """Refer or entrust a case: the dispute is registered from the court and routed to
        the entrusted body at once, with the court-linked deadline."""
        if not (user_court_ids(request.user) or request.user.is_superuser):
            raise PermissionDenied(_("只有法院账号可以委派或委托调解。"))
        values = self.validated(s.EntrustSerializer)
        court, body = court_by_code(values.pop("court")), body_by_id(values.pop("body"))
        if body is None:
            raise refused("body", _("请选择受托调解组织。"))
        mediators = users_by_name(values.pop("mediators")) or ()
        dispute = court_entrust(
            actor=request.user,
            court=court,
            court_case_number=values.pop("court_case_number"),
            referral=values.pop("referral"),
            procedure=values.pop("procedure"),
            body=body,
            mediators=mediators,
            received_on=values.pop("received_on"),
            **registration(values),
        )
        return self.written(dispute.entrusted, status.HTTP_201_CREATED)

    @extend_schema(request=s.ExtendSerializer, responses=s.EntrustedMediationSerializer)
    @action(detail=True, methods=["post"], filter_backends=[])
    def extend(self, request, pk=None):
        """Extend the mediation limit (both parties consenting): the dispute's and the court's."""
        entrusted = self.get_object()
        return self.dispute_step(entrusted, entrusted.dispute, Step.EXTEND, s.ExtendSerializer)


class JudicialConfirmationViewSet(CourtRecordViewSet):
    """Judicial confirmations asked of the caller's courts: accept within 3 days, rule
    within 15. The ruling may also be recorded at ``/api/disputes/{number}/record-ruling/``."""

    queryset = JudicialConfirmation.objects.select_related("court", "agreement__dispute")
    serializer_class = s.JudicialConfirmationSerializer
    filterset_fields = ["result"]
    ordering_fields = ["applied_on", "accept_due", "ruling_due"]

    def get_queryset(self):
        return selectors.court_confirmations(self.request.user)

    @extend_schema(request=s.RulingSerializer, responses=s.JudicialConfirmationSerializer)
    @action(detail=True, methods=["post"], filter_backends=[])
    def rule(self, request, pk=None):
        """Accept (result ``pending``), refuse to accept, confirm or reject the agreement."""
        confirmation = self.get_object()
        if confirmation.result != Ruling.PENDING or confirmation.agreement.superseded:
            message = _("该司法确认申请已裁定（%(result)s），不能再次裁定。") % {"result": confirmation.get_result_display()}
            raise Conflict(message, "illegal_step")
        return self.dispute_step(confirmation, confirmation.agreement.dispute, Step.RECORD_RULING, s.RulingSerializer)


# --- the tables -------------------------------------------------------------------------


class TableViewSet(viewsets.ReadOnlyModelViewSet):
    permission_classes = [permissions.IsAuthenticated, DisputeTablePermission]


class DisputeCategoryViewSet(TableViewSet):
    """The active dispute categories (GB/T 31000), for pickers."""

    queryset = DisputeCategory.objects.filter(is_active=True).select_related("incident_category").order_by("sort", "code")
    serializer_class = s.DisputeCategorySerializer
    lookup_field = "code"
    lookup_value_regex = r"[^/]{1,16}"


class DisputeScaleViewSet(TableViewSet):
    """The active dispute scales (一般, 较大, 重大)."""

    queryset = DisputeScale.objects.filter(is_active=True).order_by("sort", "code")
    serializer_class = s.DisputeScaleSerializer
    lookup_field = "code"
    lookup_value_regex = r"[^/]{1,16}"


class MediationLineViewSet(TableViewSet):
    """The three lines of defence with their tiers (rank, level, days), in climbing order."""

    queryset = MediationLine.objects.prefetch_related(Prefetch("tiers", queryset=Tier.objects.order_by("level"))).order_by(
        "order"
    )
    serializer_class = s.MediationLineSerializer
    lookup_field = "kind"
    lookup_value_regex = "|".join(LineKind.values)


class MediationBodyFilterSet(django_filters.FilterSet):
    line = django_filters.ChoiceFilter(choices=LineKind.choices, field_name="line__kind", label=gettext_lazy("调解防线"))
    category = django_filters.CharFilter(field_name="categories__code", label=gettext_lazy("专门调处的纠纷类别编码"))
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label=gettext_lazy("名称"))

    class Meta:
        model = MediationBody
        fields = ["line", "category", "q"]


def members_in_reach(user):
    """``body -> bool``: whether ``user`` is shown the members of a body: a city-wide body,
    one they belong to, or one whose area lies within or above where they work (their
    dispute scope, their courts' areas). Another village's committee members are people
    of another area: not theirs to list."""
    ranges = reachable_ranges(user, permission_for(Dispute, VIEW))
    courts = list(Court.objects.filter(pk__in=user_court_ids(user)).select_related("node"))
    if any(court.node is None for court in courts):
        ranges = EVERYTHING
    if not isinstance(ranges, Everything):
        ranges = [*ranges, *(NodeRange(court.node.tree_id, court.node.lft, court.node.rght) for court in courts)]
    own = set(user.mediation_bodies.values_list("pk", flat=True))

    def shown(body) -> bool:
        if body.node is None or body.pk in own or isinstance(ranges, Everything):
            return True
        node = NodeRange(body.node.tree_id, body.node.lft, body.node.rght)
        return any(area.contains(node) or node.contains(area) for area in ranges)

    return shown


class MediationBodyViewSet(TableViewSet):
    """The active mediation bodies with their line, tier, area and categories, and the
    members of those in the caller's reach (``members_in_reach``); others list none."""

    queryset = selectors.body_choices().select_related("tier__line", "node").prefetch_related("categories", "members")
    serializer_class = s.MediationBodySerializer
    filterset_class = MediationBodyFilterSet

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "members_shown": members_in_reach(self.request.user)}


class CourtViewSet(TableViewSet):
    """The active people's courts, for the confirmation and entrustment pickers."""

    queryset = selectors.court_choices().select_related("node")
    serializer_class = s.CourtSerializer
    lookup_field = "code"
    lookup_value_regex = r"[^/]{1,32}"
