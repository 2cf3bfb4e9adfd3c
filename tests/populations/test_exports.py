"""Exports of people: masked unless the exporter is responsible, audited without numbers in clear."""

import csv
import io

import pytest

from kaili.models import AuditAction, AuditEntry
from populations.exports import masked_filters, people_export_response
from populations.models import Person, Programme
from populations.selectors import person_search
from tests.populations.factories import identity_number, make_enrollment, make_officer, make_person

pytestmark = pytest.mark.django_db


def test_the_responsible_officer_exports_their_people_in_clear_and_others_masked(tree, user_factory):
    mine = make_person(unit=tree.unit_a, name="甲", identity_number=identity_number(), phone="13812345678")
    other = make_person(unit=tree.unit_a, name="乙", phone="13900001111")
    make_enrollment(mine, Programme.MENTAL_HEALTH)
    officer = make_officer(user_factory, "anning_a", [tree.zone_a.code])
    response = people_export_response(
        actor=officer, people=Person.objects.restrict(officer, "export"), file_format="csv", filters={"q": other.identity_number}
    )
    rows = {row["name"]: row for row in csv.DictReader(io.StringIO(response.content.decode("utf-8-sig")))}
    assert rows["甲"]["identity_number"] == mine.identity_number and rows["甲"]["phone"] == "13812345678"
    assert rows["乙"]["identity_number"] == other.id_number_masked and rows["乙"]["phone"] == "139****1111"
    entry = AuditEntry.objects.get(action=AuditAction.EXPORT)
    assert entry.changes["rows"] == 2 and entry.changes["unmasked_rows"] == 1
    assert other.identity_number not in str(entry.changes)


def test_masked_filters_mask_searches_only():
    filters = masked_filters({"q": "0855-8221234", "identity_number": "522601198005170033", "under": "522601001001"})
    assert filters == {"q": "085****1234", "identity_number": "522601********0033", "under": "522601001001"}


def test_landline_numbers_are_found_however_they_are_written(tree):
    person = make_person(unit=tree.unit_a, phone="0855-8221234")
    assert Person.objects.get(pk=person.pk).phone == "08558221234"
    for query in ("0855-8221234", "0855 8221234", "08558221234"):
        assert list(person_search(Person.objects.all(), query)) == [person]
