"""Incidents for tests, made and moved through the real services."""

import datetime

from django.utils import timezone

from cases.models import Category, Department, Status
from cases.services import incident_report, incident_step
from cases.workflow import Step

STREETLIGHT = "1201"  # 路灯不亮: one working day to handle
NEIGHBOUR_DISPUTE = "2902"
THEFT = "2502"
SMALL_HAZARD = "0101"


def category(code: str = STREETLIGHT) -> Category:
    return Category.objects.get(code=code)


def make_department(code: str = "test-dept", name: str = "测试承办单位", members=(), node=None) -> Department:
    department, _created = Department.objects.get_or_create(code=code, defaults={"name": name, "node": node})
    department.members.add(*members)
    return department


def report(actor, grid, code: str = STREETLIGHT, **fields):
    fields.setdefault("description", "路灯不亮，夜间行人看不清路面。")
    fields.setdefault("occurred_at", timezone.now() - datetime.timedelta(hours=1))
    incident, _created = incident_report(actor=actor, category=category(code), grid=grid, **fields)
    return incident


# The steps that bring a fresh report to each state, and who takes them.
PATH = {
    Status.REPORTED: [],
    Status.FILED: [("centre", Step.FILE, {})],
    Status.DISPATCHED: [("centre", Step.FILE, {}), ("centre", Step.DISPATCH, {"department": "department"})],
    Status.HANDLING: [
        ("centre", Step.FILE, {}),
        ("centre", Step.DISPATCH, {"department": "department"}),
        ("handler", Step.START, {}),
    ],
    Status.REPORTED_BACK: [
        ("centre", Step.FILE, {}),
        ("centre", Step.DISPATCH, {"department": "department"}),
        ("handler", Step.START, {}),
        ("handler", Step.REPORT_BACK, {"result": "已更换灯泡。"}),
    ],
    Status.CLOSED: [
        ("centre", Step.FILE, {}),
        ("centre", Step.DISPATCH, {"department": "department"}),
        ("handler", Step.REPORT_BACK, {"result": "已更换灯泡。"}),
        ("reporter", Step.CHECK, {}),
    ],
    Status.EVALUATED: [
        ("centre", Step.FILE, {}),
        ("centre", Step.DISPATCH, {"department": "department"}),
        ("handler", Step.REPORT_BACK, {"result": "已更换灯泡。"}),
        ("reporter", Step.CHECK, {}),
        ("centre", Step.EVALUATE, {"satisfaction": 5}),
    ],
    Status.CANCELLED: [("centre", Step.CANCEL, {"reason": "重复上报"})],
    Status.RETURNED: [
        ("centre", Step.FILE, {}),
        ("centre", Step.DISPATCH, {"department": "department"}),
        ("handler", Step.RETURN, {"reason": "不属于本单位职责"}),
    ],
    Status.PARKED: [
        ("centre", Step.FILE, {}),
        ("centre", Step.DISPATCH, {"department": "department"}),
        ("centre", Step.EXTEND, {"reason": "需采购配件", "minutes": 480}),
        ("centre", Step.PARK, {"reason": "需纳入明年改造计划"}),
    ],
}


def bring_to(incident, status: str, *, centre, handler, reporter, department):
    """Take ``incident`` (fresh) through the steps that lead to ``status``."""
    actors = {"centre": centre, "handler": handler, "reporter": reporter}
    for who, step, payload in PATH[status]:
        payload = {key: (department if value == "department" else value) for key, value in payload.items()}
        incident = incident_step(actor=actors[who], incident=incident, step=step, **payload)
    return incident
