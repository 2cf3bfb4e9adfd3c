"""Identity and phone numbers at rest: encrypted, searchable by keyed hash, masked, rotatable."""

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from kaili import crypto
from populations.models import Person
from tests.populations.factories import identity_number, make_person

pytestmark = pytest.mark.django_db


def test_masks_keep_region_and_last_four_only():
    assert crypto.mask_identity_number("522601199001011234") == "522601********1234"
    assert crypto.mask_phone("13812345678") == "138****5678"
    assert crypto.mask_phone("") == ""


def test_the_database_holds_no_plaintext(tree):
    number = identity_number()
    person = make_person(unit=tree.unit_a, identity_number=number, phone="13812345678")
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM populations_person WHERE id = %s", [person.pk])
        row = " ".join(str(value) for value in cursor.fetchone())
    assert number not in row
    assert "13812345678" not in row
    assert number[-4:] in row  # the masked form keeps the last four
    fresh = Person.objects.get(pk=person.pk)
    assert fresh.identity_number == number
    assert fresh.phone == "13812345678"


def test_exact_search_goes_through_the_keyed_hash(tree):
    number = identity_number()
    person = make_person(unit=tree.unit_a, identity_number=number, phone="13812345678")
    make_person(unit=tree.unit_a, name="李四")
    assert list(Person.objects.with_identity_number(number.lower())) == [person]
    assert list(Person.objects.with_phone("13812345678")) == [person]
    assert not Person.objects.with_identity_number(number[:17] + "0").exclude(pk=person.pk).exists()


def test_hash_depends_on_the_lookup_key(settings):
    before = crypto.lookup_hash("13812345678")
    settings.KAILI_LOOKUP_KEY = "another-key"
    assert crypto.lookup_hash("13812345678") != before


def test_key_rotation_reencrypts_and_rehashes(tree, settings):
    number = identity_number()
    person = make_person(unit=tree.unit_a, identity_number=number, phone="13812345678")
    old_token = Person.objects.get(pk=person.pk).id_number_encrypted
    new_key = Fernet.generate_key().decode()
    settings.KAILI_FIELD_KEYS = [new_key, *settings.KAILI_FIELD_KEYS]
    settings.KAILI_LOOKUP_KEY = "rotated-lookup-key"
    call_command("rotate_field_keys", verbosity=0)
    rotated = Person.objects.get(pk=person.pk)
    assert rotated.id_number_encrypted != old_token
    # Readable with the new key alone: the old one can now be dropped.
    settings.KAILI_FIELD_KEYS = [new_key]
    assert Person.objects.get(pk=person.pk).identity_number == number
    assert list(Person.objects.with_identity_number(number)) == [rotated]
    assert list(Person.objects.with_phone("13812345678")) == [rotated]
