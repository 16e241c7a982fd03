"""The one base of every refusal that carries a stable code.

A ``code`` is part of an interface: API clients, translation catalogues, gateway acks, logs and
tests key on it, so it never changes once published. ``message`` says what went wrong in words,
for an API client, an operator or a log; wording shown to visitors is looked up by code in a
translated catalogue, never taken from here. ``field`` names the input at fault, when one is.

Subclasses add their own base where callers catch it (most are also ``ValueError``) and their
own extras (an HTTP status, a page's context); the code, message and field live here.
"""

from __future__ import annotations

from typing import ClassVar


class CodedError(Exception):
    """A refusal identified by ``code``; ``str()`` is the message (or the code alone)."""

    #: Errors read mostly in logs show the code in front of the message ("nft_failed: ...");
    #: errors whose message is written for an API client show the message alone.
    code_in_text: ClassVar[bool] = False

    def __init__(self, code: str, message: str = "", field: str | None = None):
        text = f"{code}: {message}" if message and self.code_in_text else message or code
        super().__init__(text)
        self.code = code
        self.message = message
        self.field = field

    def as_dict(self) -> dict[str, str | None]:
        """The refusal as an API answers it: ``{"code", "message", "field"}``."""
        return {"code": self.code, "message": self.message, "field": self.field}


__all__ = ["CodedError"]
