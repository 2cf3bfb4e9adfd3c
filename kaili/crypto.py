"""Encryption at rest for sensitive personal fields, with exact-match search.

Identity and phone numbers are stored three ways (DOMAIN.md, "Privacy"; PIPL art. 51):
encrypted with Fernet (AES-128-CBC + HMAC-SHA256) under the keys in ``KAILI_FIELD_KEYS``,
as a keyed hash (HMAC-SHA256 under ``KAILI_LOOKUP_KEY``) so an exact value can be found
without decrypting anything, and masked for display. The first field key encrypts; every
key listed decrypts, so a new key is put first and ``manage.py rotate_field_keys``
re-encrypts (and re-hashes) the stored values before the old key is dropped.
"""

import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

# The encrypted columns of every app, each with its search-hash column, for key rotation:
# model label -> ((encrypted column, hash column or None), ...). Apps add theirs here.
ENCRYPTED_COLUMNS = {
    "populations.person": (("id_number_encrypted", "id_number_hash"), ("phone_encrypted", "phone_hash")),
    "disputes.disputeparty": (("id_number_encrypted", "id_number_hash"), ("phone_encrypted", None)),
}
# Encrypted binary columns without a search hash (uploaded files waiting to be imported).
ENCRYPTED_BLOBS = {"populations.peopleimport": ("content_encrypted",)}


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in keys])


def field_cipher() -> MultiFernet:
    return _fernet(tuple(settings.KAILI_FIELD_KEYS))


def encrypt(plaintext: str) -> str:
    if not plaintext:
        return ""
    return field_cipher().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return field_cipher().decrypt(token.encode()).decode()
    except InvalidToken as error:
        raise ValueError("无法解密：密钥不匹配或数据已损坏。") from error


def reencrypt(token: str) -> str:
    """The same value under the current primary key (no-op for an empty value)."""
    return field_cipher().rotate(token.encode()).decode() if token else ""


def lookup_hash(plaintext: str) -> str:
    """The keyed hash stored beside an encrypted value; equal values give equal hashes."""
    if not plaintext:
        return ""
    key = settings.KAILI_LOOKUP_KEY.encode()
    return hmac.new(key, plaintext.encode(), hashlib.sha256).hexdigest()


def mask_identity_number(value: str) -> str:
    """``522601199001011234`` → ``522601********1234``: region and last four only."""
    if not value:
        return ""
    if len(value) <= 10:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_phone(value: str) -> str:
    """``13812345678`` → ``138****5678``."""
    if not value:
        return ""
    if len(value) < 8:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]
