"""The ``[reports]`` section: 940 intake limits, forwarding, closure codes and escalation.

Registered with `core.config` through the ``oasis.config`` entry points; it loads with the rest
of the config (defaults, the file, then ``OASIS_REPORTS_<KEY>``). `load_reports_config` is the
shortcut for code that needs only this section.
"""

from __future__ import annotations

import os
import typing
from dataclasses import dataclass

from core.config import load_config


@dataclass
class ReportsConfig:
    """What the 940 report pipeline needs, from intake to escalation."""

    #: Longest description accepted (Open311 GeoReport v2 allows 4,000 characters).
    max_description_chars: int = 4000
    #: Photos per report, size of one uploaded photo, and the whole upload.
    max_photos: int = 3
    max_photo_bytes: int = 8_000_000
    max_upload_bytes: int = 25_000_000
    #: Pixels a photo may declare in its header (a 50 MP phone camera at full size); more is
    #: refused before anything is decoded.
    max_photo_pixels: int = 50_000_000
    #: Pixels actually decoded per photo: a JPEG is decoded already shrunk (1/2 to 1/8) to fit,
    #: a PNG must fit as it is. At least (2 x photo_max_side)^2, so any JPEG can be shrunk into
    #: it; one photo in work holds about 4 bytes per pixel of it (and a copy, for a few modes).
    max_photo_decode_pixels: int = 16_777_216
    #: Photos are shrunk to fit this many pixels on their longer side.
    photo_max_side: int = 2048
    #: Photos decoded at once per process, and how many more may wait for a turn (and for how
    #: long); the rest are refused at once ("try again"), so uploads never take every thread.
    photo_workers: int = 1
    photo_queue: int = 3
    photo_wait_s: float = 20.0
    #: Seconds before a report the back office has not acked is published again (doubling).
    resend_after_s: float = 10.0
    resend_max_s: float = 300.0
    #: Outbox rows published per pass (the forwarder's unit of work).
    batch_size: int = 500
    #: Messages published and not yet acked by the back office, at most (flow control).
    window: int = 2000
    #: MQTT client id of the forwarder; its broker session survives this long while away.
    client_id: str = "oasis-reports"
    session_expiry_s: int = 7 * 86400
    #: Wrong closure codes accepted per report before the code is locked.
    closure_max_attempts: int = 5
    #: A resolved report nobody confirms or disputes is closed after this many days.
    auto_close_days: float = 7.0
    #: Urgent reports get this share of their category's SLA hours.
    urgent_sla_factor: float = 0.25
    #: Overdue reports escalate to level 1 at the SLA due time, to level 2 this much later.
    level2_after_hours: float = 24.0
    #: Comma-separated E.164 numbers told of level 1 and level 2 escalations.
    level1_contacts: str = ""
    level2_contacts: str = ""
    #: Seconds between two passes of the SLA watcher.
    sla_check_interval_s: float = 60.0
    #: On several nodes one forwarder and one SLA watcher work at a time, each holding a lease
    #: in the store for this long (renewed every third of it); when its node dies another
    #: node's takes over within this plus a second (docs/scale-out.md).
    lease_ttl_s: float = 12.0
    #: Portal "my reports" and closure look-ups per client per minute.
    lookups_per_minute: int = 10

    def validate(self) -> None:
        checks = (
            ("max_description_chars", 1 <= self.max_description_chars <= 4000),
            ("max_photos", 0 <= self.max_photos <= 10),
            ("max_photo_bytes", self.max_photo_bytes >= 10_000),
            ("max_upload_bytes", self.max_upload_bytes >= 65536),
            ("max_photo_pixels", self.max_photo_pixels >= 1_000_000),
            ("photo_max_side", 256 <= self.photo_max_side <= 8192),
            ("max_photo_decode_pixels",
             self.max_photo_decode_pixels >= 4 * self.photo_max_side ** 2),
            ("photo_workers", 1 <= self.photo_workers <= 64),
            ("photo_queue", 0 <= self.photo_queue <= 1000),
            ("photo_wait_s", self.photo_wait_s > 0),
            ("resend_after_s", self.resend_after_s > 0),
            ("resend_max_s", self.resend_max_s >= self.resend_after_s),
            ("batch_size", 1 <= self.batch_size <= 10_000),
            ("window", self.window >= 1),
            ("session_expiry_s", self.session_expiry_s >= 60),
            ("closure_max_attempts", self.closure_max_attempts >= 1),
            ("auto_close_days", self.auto_close_days > 0),
            ("urgent_sla_factor", 0 < self.urgent_sla_factor <= 1),
            ("level2_after_hours", self.level2_after_hours > 0),
            ("sla_check_interval_s", self.sla_check_interval_s > 0),
            ("lease_ttl_s", 1 <= self.lease_ttl_s <= 300),
            ("lookups_per_minute", self.lookups_per_minute >= 1),
        )
        for key, ok in checks:
            if not ok:
                raise ValueError(f"{key}: out of range ({getattr(self, key)!r})")
        for key in ("level1_contacts", "level2_contacts"):
            for number in contacts(getattr(self, key)):
                if not number.startswith("+") or not number[1:].isdigit():
                    raise ValueError(f"{key}: expected E.164 numbers, got {number!r}")

    def contacts_for(self, level: int) -> list[str]:
        return contacts(self.level1_contacts if level == 1 else self.level2_contacts)


def contacts(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def load_reports_config(path: str | os.PathLike | None = None,
                        env: typing.Mapping[str, str] | None = None) -> ReportsConfig:
    """``[reports]`` from ``path`` (or OASIS_CONFIG / ./oasis.toml), then the environment."""
    return load_config(path, env).reports


__all__ = ["ReportsConfig", "contacts", "load_reports_config"]
