"""Mail through a real SMTP server, and the demo's outbox folder when no relay is set."""

import os

import pytest

from core.mail import MailConfig, MailError, compose, send
from tests.peers_smtp import smtp_server  # noqa: F401  (fixture)
from tests.support import free_port


def test_a_report_mail_with_an_arabic_subject_and_an_attachment_arrives(smtp_server):
    config = MailConfig(host=smtp_server.host, port=smtp_server.port, sender="noc@amanah.test")
    message = compose(config, ["director@amanah.test"], "تقرير نوفمبر", "مرفق التقرير الشهري",
                      attachments=[("report-ar.pdf", b"%PDF-1.7 test", "application/pdf")])
    message_id = send(config, message)
    [(rcpt, received)] = smtp_server.wait(1)
    assert rcpt == ["director@amanah.test"]
    assert received["Subject"] == "تقرير نوفمبر"
    assert received["Message-ID"] == message_id
    assert received["Content-Language"] == "ar"
    [attachment] = list(received.iter_attachments())
    assert attachment.get_filename() == "report-ar.pdf"
    assert attachment.get_content() == b"%PDF-1.7 test"


def test_a_refused_recipient_is_not_retryable(smtp_server):
    smtp_server.refuse.add("gone@amanah.test")
    config = MailConfig(host=smtp_server.host, port=smtp_server.port)
    with pytest.raises(MailError) as refused:
        send(config, compose(config, ["gone@amanah.test"], "x", "y"))
    assert refused.value.code == "mail.recipients_refused" and not refused.value.retryable


def test_an_unreachable_relay_is_retryable_and_names_it():
    unused_tcp_port = free_port()
    config = MailConfig(host="127.0.0.1", port=unused_tcp_port, password="s3cret", timeout_s=2)
    with pytest.raises(MailError) as failed:
        send(config, compose(config, ["a@b.test"], "x", "y"))
    assert failed.value.retryable and f"127.0.0.1:{unused_tcp_port}" in str(failed.value)
    assert "s3cret" not in str(failed.value)


def test_without_a_relay_mail_is_kept_private_in_the_outbox(tmp_path):
    config = MailConfig(outbox="mail")
    send(config, compose(config, ["a@b.test"], "تنبيه", "نص"), base=tmp_path)
    [kept] = list((tmp_path / "mail").iterdir())
    assert kept.suffix == ".eml" and os.stat(kept).st_mode & 0o777 == 0o600
    assert b"Subject:" in kept.read_bytes()
