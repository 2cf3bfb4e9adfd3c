"""The incident list as a file (CSV / XLSX), small at once, large through a Celery task."""

from django.core.exceptions import ValidationError
from django.http import QueryDict
from django.utils import timezone

from cases.filtersets import IncidentFilterSet
from cases.models import Incident
from cases.selectors import LIST_RELATED
from kaili.exports import Exporter, register_exporter
from kaili.scope import EXPORT

INCIDENT_HEADER = [
    "事件编号",
    "标题",
    "大类",
    "小类",
    "网格编码",
    "网格",
    "来源",
    "紧急程度",
    "状态",
    "发生时间",
    "上报时间",
    "地点",
    "情况描述",
    "上报人",
    "承办单位",
    "承办人",
    "当前环节时限",
    "超时",
    "结案时间",
    "处置结果",
    "满意度",
    "已破案",
    "破案日期",
]


def _time(value) -> str:
    return f"{timezone.localtime(value):%Y-%m-%d %H:%M}" if value else ""


def incidents_to_export(user, filters: dict):
    """The incidents ``user`` may export, filtered as the list was. A filter that does not
    validate is refused rather than dropped (django-filter would quietly ignore it and
    export more than was asked)."""
    data = QueryDict(mutable=True)
    for key, value in (filters or {}).items():
        data.setlist(key, [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)])
    queryset = Incident.objects.none() if user is None else Incident.objects.restrict(user, EXPORT)
    filterset = IncidentFilterSet(data=data, queryset=queryset)
    if not filterset.is_valid():
        raise ValidationError({name: list(errors) for name, errors in filterset.errors.items()})
    return filterset.qs.order_by("reported_at", "id")


def incident_rows(queryset, user):
    now = timezone.now()
    queryset = queryset.select_related(*LIST_RELATED)
    for incident in queryset.iterator(chunk_size=2000):
        yield [
            incident.number,
            incident.title,
            incident.category.parent.name if incident.category.parent_id else "",
            incident.category.name,
            incident.grid.code,
            incident.grid.name,
            incident.get_source_display(),
            incident.get_urgency_display(),
            incident.get_status_display(),
            _time(incident.occurred_at),
            _time(incident.reported_at),
            incident.place,
            incident.description,
            str(incident.reporter or incident.reporter_name or ""),
            incident.department.name if incident.department_id else "",
            str(incident.handler or ""),
            _time(incident.due_at),
            "是" if incident.is_overdue(now) or incident.late else "",
            _time(incident.closed_at),
            incident.result,
            incident.satisfaction or "",
            "是" if incident.cleared else "",
            incident.cleared_on.isoformat() if incident.cleared_on else "",
        ]


INCIDENT_EXPORTER = register_exporter(
    Exporter(
        kind="cases.incidents",
        object_type="cases.incident",
        filename="incidents",
        header=INCIDENT_HEADER,
        queryset=incidents_to_export,
        rows=incident_rows,
    )
)
