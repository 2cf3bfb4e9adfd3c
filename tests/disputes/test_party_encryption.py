"""Parties' identity and phone numbers are kept as the registry keeps them: encrypted,
searchable by a keyed hash, masked on display, and re-encrypted by a key rotation."""

from cryptography.fernet import Fernet
from django.core.management import call_command

from disputes.models import DisputeParty
from disputes.services import Party
from kaili import crypto
from tests.disputes.factories import register

NUMBER = "522601199001011232"


def test_a_party_told_by_name_is_stored_encrypted_and_shown_masked(people):
    dispute = register(
        people.worker, people.tree.grid_a, parties=[Party(role="applicant", name="王五", id_number=NUMBER, phone="13812345678")]
    )
    party = DisputeParty.objects.get(dispute=dispute)
    assert NUMBER not in party.id_number_encrypted and "13812345678" not in party.phone_encrypted
    assert party.id_number_masked == "522601********1232" and party.phone_masked == "138****5678"
    assert party.identity_number == NUMBER
    assert DisputeParty.objects.filter(id_number_hash=crypto.lookup_hash(NUMBER)).get() == party


def test_key_rotation_reencrypts_parties_too(people, settings):
    dispute = register(
        people.worker, people.tree.grid_a, parties=[Party(role="applicant", name="王五", id_number=NUMBER, phone="13812345678")]
    )
    old = DisputeParty.objects.get(dispute=dispute)
    new_key = Fernet.generate_key().decode()
    settings.KAILI_FIELD_KEYS = [new_key, *settings.KAILI_FIELD_KEYS]
    settings.KAILI_LOOKUP_KEY = "rotated-lookup-key"
    call_command("rotate_field_keys", verbosity=0)
    settings.KAILI_FIELD_KEYS = [new_key]
    rotated = DisputeParty.objects.get(pk=old.pk)
    assert rotated.id_number_encrypted != old.id_number_encrypted
    assert rotated.identity_number == NUMBER and crypto.decrypt(rotated.phone_encrypted) == "13812345678"
    assert rotated.id_number_hash == crypto.lookup_hash(NUMBER) != old.id_number_hash
