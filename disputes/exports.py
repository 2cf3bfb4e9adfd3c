"""The dispute list as a file (CSV / XLSX), small at once, large through a Celery task.

Parties appear with their masked identity numbers only: a file leaves the platform, the
clear numbers stay behind the audited reveal.
"""

from django.utils import timezone

from disputes.filtersets import DisputeFilterSet
from disputes.selectors import LIST_RELATED
from kaili.exports import Exporter, filtered_for_export, local_minute, register_exporter

DISPUTE_HEADER = [
    "编号",
    "名称",
    "类别",
    "规模",
    "所属网格",
    "来源",
    "状态",
    "调解防线",
    "调解层级",
    "调解组织",
    "调解员",
    "发生日期",
    "登记时间",
    "当前时限",
    "是否超期",
    "涉及金额",
    "涉及人数",
    "群体性风险",
    "矛盾上交",
    "结案时间",
    "主要当事人",
]


def _yes(value: bool) -> str:
    return "是" if value else "否"


def _day(value) -> str:
    return value.isoformat() if value else ""


def disputes_to_export(user, filters: dict):
    """The disputes ``user`` may export, filtered as the list was (``filtered_for_export``)."""
    return filtered_for_export(user, filters, DisputeFilterSet).order_by("registered_at", "id")


def _party(party) -> str:
    masked = f"（{party.id_number_masked}）" if party.id_number_masked else ""
    return f"{party.get_role_display()}：{party.name}{masked}"


def dispute_rows(queryset, user):
    today = timezone.localdate()
    queryset = queryset.select_related(*LIST_RELATED).prefetch_related("mediators", "parties")
    for dispute in queryset.iterator(chunk_size=2000):
        yield [
            dispute.number,
            dispute.name,
            dispute.category.name,
            dispute.scale.name,
            f"{dispute.grid.code} {dispute.grid.name}",
            dispute.get_source_display(),
            dispute.get_status_display(),
            dispute.line.name if dispute.line_id else "",
            dispute.tier.name if dispute.tier_id else "",
            dispute.body.name if dispute.body_id else "",
            "、".join(str(mediator) for mediator in dispute.mediators.all()),
            _day(dispute.occurred_on),
            local_minute(dispute.registered_at),
            _day(dispute.due_on),
            _yes(dispute.is_overdue(today)),
            "" if dispute.amount is None else f"{dispute.amount:.2f}",
            dispute.people_count,
            _yes(dispute.group_risk),
            _yes(dispute.passed_upward),
            local_minute(dispute.closed_at),
            "；".join(_party(party) for party in dispute.parties.all()),
        ]


DISPUTE_EXPORTER = register_exporter(
    Exporter(
        kind="disputes.disputes",
        object_type="disputes.dispute",
        filename="disputes",
        header=DISPUTE_HEADER,
        queryset=disputes_to_export,
        rows=dispute_rows,
    )
)
