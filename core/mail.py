"""Outgoing e-mail through the municipality's mail relay (``[mail]``): scheduled KPI reports and
alert notifications. The standard library speaks SMTP well (smtplib, email.message); this module
only adds the configuration, a private outbox folder when no relay is set (the demo), and errors
that say what failed without the password."""

from __future__ import annotations

import logging
import smtplib
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from pathlib import Path

from core.errors import CodedError
from core.files import create_private

log = logging.getLogger(__name__)


@dataclass
class MailConfig:
    #: The relay's host; empty keeps every message as an .eml file in ``outbox`` (demo, tests).
    host: str = ""
    port: int = 25
    #: ``starttls`` (upgrade on the submission port), ``tls`` (implicit TLS, port 465) or ``none``.
    security: str = "none"
    username: str = ""
    password: str = ""
    sender: str = "oasis@localhost"
    sender_name: str = "Oasis Edge"
    timeout_s: float = 15.0
    outbox: str = "var/mail-outbox"

    def validate(self) -> None:
        if self.security not in ("none", "starttls", "tls"):
            raise ValueError(f"security: expected none, starttls or tls, got {self.security!r}")
        if not 0 < self.port <= 65535:
            raise ValueError("port: must be 1-65535")
        if "@" not in self.sender:
            raise ValueError(f"sender: not an e-mail address: {self.sender!r}")


class MailError(CodedError):
    """The relay refused or could not be reached; ``retryable`` for transient failures."""

    code_in_text = True

    def __init__(self, code: str, message: str, *, retryable: bool):
        super().__init__(code, message)
        self.retryable = retryable


def compose(config: MailConfig, to: list[str], subject: str, text: str, *, html: str | None = None,
            attachments: Sequence[tuple[str, bytes, str]] = (), lang: str = "ar") -> EmailMessage:
    """A message from the configured sender; ``attachments`` are ``(filename, data, mime)``.
    ``lang`` goes into Content-Language (Arabic mail clients lay the body out right to left)."""
    message = EmailMessage()
    message["From"] = formataddr((config.sender_name, config.sender))
    message["To"] = ", ".join(to)
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain=config.sender.rsplit("@", 1)[1])
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    for filename, data, mime in attachments:
        maintype, _, subtype = mime.partition("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    message["Content-Language"] = lang  # after the body: set_content() clears Content-* headers
    return message


def send(config: MailConfig, message: EmailMessage, *, base: Path | None = None) -> str:
    """Hand ``message`` to the relay (or the outbox folder); returns its Message-ID."""
    message_id = str(message["Message-ID"])
    if not config.host:
        folder = Path(config.outbox)
        if base is not None and not folder.is_absolute():
            folder = base / folder
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{time.time():.6f}-{message_id.strip('<>').split('@')[0]}.eml"
        create_private(folder / name, bytes(message))
        log.info("mail kept in %s (no relay configured): %s", folder, message["Subject"])
        return message_id
    try:
        if config.security == "tls":
            client: smtplib.SMTP = smtplib.SMTP_SSL(config.host, config.port,
                                                    timeout=config.timeout_s,
                                                    context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(config.host, config.port, timeout=config.timeout_s)
        with client:
            if config.security == "starttls":
                client.starttls(context=ssl.create_default_context())
            if config.username:
                client.login(config.username, config.password)
            client.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        raise MailError("mail.recipients_refused",
                        f"the relay refused {', '.join(exc.recipients)}", retryable=False) from None
    except smtplib.SMTPAuthenticationError:
        raise MailError("mail.auth", "the relay refused the username or password",
                        retryable=False) from None
    except (smtplib.SMTPException, OSError) as exc:
        raise MailError("mail.relay", f"{config.host}:{config.port}: {exc.__class__.__name__}: "
                        f"{exc}", retryable=True) from None
    return message_id
