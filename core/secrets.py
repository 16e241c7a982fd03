"""Secrets at rest: device passwords, SNMP keys and gateway keys are Fernet-encrypted.

The key lives in a file the operator owns (``store.key_file``), created with mode 0600 on first
use; one found readable by others is narrowed to 0600 with a warning (`core.files`). Losing the
key file means re-entering the device secrets; it is never stored in the database.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import overload

from cryptography.fernet import Fernet, InvalidToken

from core.files import create_private, ensure_private


class SecretError(RuntimeError):
    """The key file is unusable or a stored secret cannot be decrypted with it."""


class SecretBox:
    def __init__(self, key: bytes):
        try:
            self._fernet = Fernet(key)
        except (ValueError, TypeError):
            raise SecretError("the key is not a valid Fernet key") from None

    @classmethod
    def from_key_file(cls, path: str | os.PathLike, *, create: bool = True) -> "SecretBox":
        path = Path(path)
        if not path.exists():
            if not create:
                raise SecretError(f"key file {path} does not exist")
            create_private(path, Fernet.generate_key())  # False: another process made it first
        else:
            ensure_private(path)
        try:
            return cls(path.read_bytes().strip())
        except SecretError:
            raise SecretError(f"key file {path} does not hold a valid key") from None

    def encrypt(self, plaintext: str | None) -> str | None:
        if plaintext is None or plaintext == "":
            return None
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    @overload
    def decrypt(self, token: str) -> str: ...
    @overload
    def decrypt(self, token: None) -> None: ...
    @overload
    def decrypt(self, token: str | None) -> str | None: ...
    def decrypt(self, token: str | None) -> str | None:
        if token is None:
            return None
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise SecretError("a stored secret does not decrypt with this key file") from None

    def __repr__(self) -> str:  # never show key material
        return "SecretBox(<hidden>)"
