"""Encryption of secrets at rest (helpdesk tokens, webhook and Slack secrets) with Fernet.

The key is derived from ``DESKMATE_SECRET_KEY``. It is process-wide on purpose: a column type has no app
context, and one process serves one deployment, whose secret key is fixed at start-up.
"""

from __future__ import annotations

import base64
import hashlib
import threading
from typing import Any

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

_lock = threading.Lock()
_fernet: MultiFernet | None = None


def configure(secret_key: str, *old_keys: str) -> None:
    """Set the key used to encrypt, and older keys still accepted to decrypt (for key rotation)."""
    global _fernet
    keys = [Fernet(_derive(key)) for key in (secret_key, *old_keys)]
    with _lock:
        _fernet = MultiFernet(keys)


def _derive(secret_key: str) -> bytes:
    digest = hashlib.sha256(b"deskmate-secrets-v1:" + secret_key.encode()).digest()
    return base64.urlsafe_b64encode(digest)


def _current() -> MultiFernet:
    if _fernet is None:
        raise RuntimeError("secrets encryption is not configured: create_app() configures it from the secret key")
    return _fernet


def encrypt(plaintext: str) -> str:
    return _current().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _current().decrypt(token.encode()).decode()
    except InvalidToken:
        raise RuntimeError(
            "a stored secret cannot be decrypted: DESKMATE_SECRET_KEY changed without keeping the old one"
        ) from None


class EncryptedString(TypeDecorator[str]):
    """A string column stored encrypted; reads give back the plaintext."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else encrypt(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else decrypt(value)
