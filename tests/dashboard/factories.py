"""Records for the dashboard's tests, written straight into the tables.

The statistics count what the records say, however they got there; writing them with
``objects.create`` keeps the tests fast and lets a test place a record in any month of any
year. (The services' own paths are covered by each app's tests; the marks a service's
save leaves are tested in tests/dashboard/test_incremental.py.)
"""

import datetime
import itertools

from django.utils import timezone

from cases.models import Category, Incident
from cases.models import Status as IncidentStatus
from disputes.models import Dispute, DisputeCategory, DisputeScale
from disputes.models import Status as DisputeStatus

_numbers = itertools.count(1)

# Minor categories by statistic key (the catalogue's codes).
ROBBERY, THEFT, HOMICIDE, FRAUD = "2501", "2502", "2503", "2504"
PUBLIC_ORDER = "2601"
TRAFFIC_ACCIDENT, FIRE = "2702", "2703"
PETITION = "2801"
HAZARD = "0101"  # nine-small: 排查小隐患
STREETLIGHT = "1201"


def at(year: int, month: int, day: int = 15, hour: int = 10) -> datetime.datetime:
    """A local time (Asia/Shanghai), aware."""
    return timezone.make_aware(datetime.datetime(year, month, day, hour))


def incident(grid, code: str = THEFT, occurred_at=None, **fields) -> Incident:
    occurred_at = occurred_at or at(2016, 5)
    number = next(_numbers)
    fields.setdefault("reported_at", occurred_at + datetime.timedelta(hours=1))
    fields.setdefault("description", "测试事件")
    fields.setdefault("status", IncidentStatus.FILED)
    return Incident.objects.create(
        number=f"SJ-522601-{occurred_at.year}-{number:06d}",
        category=Category.objects.get(code=code),
        grid=grid,
        occurred_at=occurred_at,
        **fields,
    )


def dispute(grid, registered_at=None, **fields) -> Dispute:
    registered_at = registered_at or at(2016, 5)
    number = next(_numbers)
    fields.setdefault("status", DisputeStatus.REGISTERED)
    fields.setdefault("occurred_on", registered_at.date())
    fields.setdefault("name", "测试纠纷")
    fields.setdefault("summary", "测试纠纷情况")
    return Dispute.objects.create(
        number=f"MD-522601-{registered_at.year}-{number:06d}",
        category=DisputeCategory.objects.order_by("code").first(),
        scale=DisputeScale.objects.order_by("pk").first(),
        grid=grid,
        registered_at=registered_at,
        **fields,
    )


def resolved(grid, registered_at=None, closed_at=None, **fields) -> Dispute:
    registered_at = registered_at or at(2016, 5)
    return dispute(
        grid,
        registered_at,
        status=DisputeStatus.RESOLVED,
        closed_at=closed_at or registered_at + datetime.timedelta(days=10),
        **fields,
    )
