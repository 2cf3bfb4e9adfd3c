"""The registry file format shared by import and export, and audited, masked exports.

One row per person, with their household's columns repeated; the header is documented in
the README ("Registry import and export"). Identity and phone numbers are written in clear
only for people the exporter is responsible for, masked for everyone else.
"""

from django.db.models import Count
from django.http import HttpResponse
from django.utils import timezone

from kaili.audit import audit_record
from kaili.models import AuditAction
from kaili.tabular import CSV_CONTENT_TYPE, XLSX_CONTENT_TYPE, table_to_csv, table_to_xlsx
from populations.selectors import responsible_condition, with_responsibility

PEOPLE_HEADER = [
    "household_number",
    "unit_code",
    "address",
    "doorplate",
    "registration",
    "name",
    "identity_number",
    "ethnicity",
    "phone",
    "relation",
    "residence",
    "occupation",
    "notes",
]


def people_rows(people, user):
    """Rows of ``people`` (already scoped and filtered) as ``user`` may see them."""
    people = with_responsibility(people.select_related("household", "unit"), user).order_by("household__number", "pk")
    for person in people.iterator(chunk_size=2000):
        household = person.household
        yield [
            household.number,
            person.unit.code,
            household.address,
            household.doorplate,
            household.registration,
            person.name,
            person.identity_number if person.responsible else person.id_number_masked,
            person.ethnicity,
            person.phone if person.responsible else person.phone_masked,
            person.relation,
            person.residence,
            person.occupation,
            person.notes,
        ]


def people_to_csv(people, user) -> bytes:
    return table_to_csv(PEOPLE_HEADER, people_rows(people, user))


def people_to_xlsx(people, user) -> bytes:
    return table_to_xlsx(PEOPLE_HEADER, people_rows(people, user), "people")


PEOPLE_EXPORT_FORMATS = {
    "csv": (people_to_csv, CSV_CONTENT_TYPE),
    "xlsx": (people_to_xlsx, XLSX_CONTENT_TYPE),
}


SEARCH_FILTERS = {"q", "identity_number", "phone"}


def masked_filters(filters: dict) -> dict:
    """The filters as the audit row keeps them: a searched identity or phone number masked
    (the grid codes of ``under`` and ``unit`` stay as they are)."""
    from kaili.crypto import mask_identity_number, mask_phone

    masked = dict(filters or {})
    for name in SEARCH_FILTERS & set(masked):
        value = masked[name]
        compact = str(value).replace(" ", "").replace("-", "").upper()
        if len(compact) == 18 and compact[:17].isdigit():
            value = mask_identity_number(compact)
        elif sum(ch.isdigit() for ch in compact) >= 7:
            value = mask_phone(compact)
        masked[name] = value
    return masked


def people_export_response(*, actor, people, file_format: str, filters: dict) -> HttpResponse:
    """The download of ``people`` (scoped with ``restrict(actor, EXPORT)`` and filtered by
    the caller), audited with how many rows were written unmasked."""
    render, content_type = PEOPLE_EXPORT_FORMATS[file_format]
    counts = people.order_by().aggregate(rows=Count("pk"), unmasked=Count("pk", filter=responsible_condition(actor)))
    audit_record(
        actor=actor,
        action=AuditAction.EXPORT,
        object_type="populations.person",
        changes={
            "format": file_format,
            "filters": masked_filters(filters),
            "rows": counts["rows"],
            "unmasked_rows": counts["unmasked"],
        },
    )
    response = HttpResponse(render(people, actor), content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="people-{timezone.localdate():%Y%m%d}.{file_format}"'
    return response
