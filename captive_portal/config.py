"""The portal's settings: the ``[portal]`` and ``[sms]`` sections of ``oasis.toml``.

The sections are defined in `controller.portal_config` and loaded by `controller.config` like
every other section (defaults, then the file, then ``OASIS_PORTAL_<KEY>`` / ``OASIS_SMS_<KEY>``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from controller.config import Config
from controller.portal_config import LOCALES, PortalConfig, SmsConfig


@dataclass
class PortalSettings:
    portal: PortalConfig = field(default_factory=PortalConfig)
    sms: SmsConfig = field(default_factory=SmsConfig)
    source: str = "defaults"

    @classmethod
    def from_config(cls, config: Config) -> "PortalSettings":
        return cls(config.portal, config.sms, config.source)


__all__ = ["LOCALES", "PortalConfig", "PortalSettings", "SmsConfig"]
