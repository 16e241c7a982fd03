"""The SMS gateway: recorded messages with their delivery state, drivers, receipts, replies.

- `service`: `SmsService` (send, retry, receipts, incoming SMS) and `SmsRetrier`.
- `base`: what drivers share (`SmsDriver`, `OutgoingSms`, `SmsSendError`, the callbacks).
- `drivers`: ``console``, ``http`` and the driver table `SMS_DRIVERS`; `kannel`: Kannel.
- `segments`: GSM-7 or UCS-2, and how many SMS a text makes.
- `replies`: what a citizen's SMS means (closure answers, STOP/START, help); `optout`.
- `records`: the outbox's query functions for pages.
See docs/sms.md.
"""

from captive_portal.sms.base import OutgoingSms, SmsDriver, SmsSendError
from captive_portal.sms.drivers import SMS_DRIVERS, ConsoleSmsDriver, HttpSmsDriver, make_driver
from captive_portal.sms.kannel import KannelSmsDriver
from captive_portal.sms.service import (
    OPTIONAL_PURPOSES,
    RECEIPT_STATES,
    STATES,
    SmsOptedOut,
    SmsRecord,
    SmsRetrier,
    SmsService,
)

__all__ = ["OPTIONAL_PURPOSES", "RECEIPT_STATES", "SMS_DRIVERS", "STATES", "ConsoleSmsDriver",
           "HttpSmsDriver", "KannelSmsDriver", "OutgoingSms", "SmsDriver", "SmsOptedOut",
           "SmsRecord", "SmsRetrier", "SmsSendError", "SmsService", "make_driver"]
