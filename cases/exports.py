"""The incident list as a file (CSV / XLSX), small at once, large through a Celery task."""

from django.utils import timezone

from cases.filtersets import IncidentFilterSet
from cases.selectors import LIST_RELATED
from kaili.exports import Exporter, filtered_for_export, local_minute, register_exporter

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


def incidents_to_export(user, filters: dict):
    """The incidents ``user`` may export, filtered as the list was (``filtered_for_export``)."""
    return filtered_for_export(user, filters, IncidentFilterSet).order_by("reported_at", "id")


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
            local_minute(incident.occurred_at),
            local_minute(incident.reported_at),
            incident.place,
            incident.description,
            str(incident.reporter or incident.reporter_name or ""),
            incident.department.name if incident.department_id else "",
            str(incident.handler or ""),
            local_minute(incident.due_at),
            "是" if incident.is_overdue(now) or incident.late else "",
            local_minute(incident.closed_at),
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
