"""Registry and programme records for tests, made through the real services."""

import datetime
import itertools

from populations.identity import make_identity_number
from populations.models import Programme, ProgrammeOfficer
from populations.services import enrollment_create, household_create, person_create

_sequence = itertools.count(1)

MINIMAL_DETAILS = {
    Programme.MENTAL_HEALTH: {"diagnosis": "schizophrenia"},
    Programme.CORRECTION: {
        "category": "probation",
        "correction_start": datetime.date(2026, 1, 1),
        "correction_end": datetime.date(2027, 1, 1),
    },
    Programme.RELEASED: {"offence": "盗窃罪", "released_on": datetime.date(2026, 3, 1)},
    Programme.DRUG_REHAB: {"kind": "rehab"},
    Programme.YOUTH: {"kind": "idle", "school_status": "dropped_out"},
    Programme.LEFT_BEHIND: {"kind": "child"},
}


def identity_number(born=datetime.date(1980, 5, 17), sex="M") -> str:
    return make_identity_number("522601", born, next(_sequence), sex)


def make_household(unit, address="北京路 1 号", **fields):
    return household_create(actor=None, unit=unit, address=address, **fields)


def make_person(household=None, *, unit=None, name="张三", born=datetime.date(1980, 5, 17), sex="M", **fields):
    household = household or make_household(unit)
    fields.setdefault("identity_number", identity_number(born, sex))
    return person_create(actor=None, household=household, name=name, **fields)


def make_enrollment(person, programme=Programme.LEFT_BEHIND, started_on=datetime.date(2026, 6, 1), **fields):
    fields.setdefault("details", MINIMAL_DETAILS[programme])
    return enrollment_create(actor=None, person=person, programme=programme, started_on=started_on, **fields)


def make_officer(make_user, username, codes, programmes=(Programme.MENTAL_HEALTH,)):
    from kaili.roles import PROGRAMME_OFFICER

    user = make_user(username, PROGRAMME_OFFICER, codes)
    for programme in programmes:
        ProgrammeOfficer.objects.create(user=user, programme=programme)
    return user
