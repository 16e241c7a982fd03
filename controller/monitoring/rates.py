"""Counter arithmetic for SNMP polls: deltas across wraps, reboot detection, per-second rates.

Pure functions, so the tricky cases (a 2**64 wrap, a reboot between two polls, a counter reset
without a reboot) are tested without a device. The rule throughout: when a delta cannot be
trusted, the rate is None ("no rate this poll"), never a negative or absurd number.
"""

from __future__ import annotations

COUNTER32 = 32
COUNTER64 = 64
TIMETICKS_MODULUS = 2 ** 32          # sysUpTime is TimeTicks (hundredths of a second), 32 bits

#: A delta implying more than this per second is a counter discontinuity, not traffic.
#: 400 Gbit/s in octets leaves headroom over any AP uplink; callers may pass their own.
DEFAULT_MAX_PER_SECOND = 400e9 / 8

#: The most each kind of interface counter can plausibly count per second; above it, a delta is
#: a discontinuity. One limit for all kinds (octets) let an error counter that reset from 7,912
#: to 161 read as a Counter32 wrap: 865,583,610 errors/s stored and alerted.
#: - octets: 400 Gbit/s, as above;
#: - packets: 400 Gbit/s of minimum-size frames (84 bytes on the wire with preamble and gap);
#: - errors: ten million bad frames a second, more than a 10 Gbit/s port carries in
#:   minimum-size frames of which most are bad; a Counter32 error counter that "wraps" from a
#:   small value implies more than that for any poll interval under about seven minutes.
MAX_PER_SECOND = {"octets": DEFAULT_MAX_PER_SECOND, "packets": 400e9 / (84 * 8),
                  "errors": 1e7}

#: Clock slack when comparing the AP's uptime with our own elapsed time (seconds).
UPTIME_SLACK_S = 2.0


def counter_delta(previous: int, current: int, width: int = COUNTER64) -> int:
    """Increase of a counter of ``width`` bits from ``previous`` to ``current``, assuming at most
    one wrap (RFC 2578: counters wrap to zero at 2**width)."""
    if width not in (COUNTER32, COUNTER64):
        raise ValueError(f"width: expected 32 or 64, got {width}")
    modulus = 2 ** width
    if not (0 <= previous < modulus and 0 <= current < modulus):
        raise ValueError(f"counter value outside Counter{width}: {previous} -> {current}")
    return (current - previous) % modulus


def uptime_delta_s(previous_ticks: int, current_ticks: int, elapsed_s: float) -> float | None:
    """Seconds the AP says passed between two polls, or None if it restarted in between.

    sysUpTime going backwards is a restart unless it is the 497-day TimeTicks wrap, which is
    recognised by the wrapped delta agreeing with our own clock.
    """
    if current_ticks >= previous_ticks:
        return (current_ticks - previous_ticks) / 100.0
    wrapped = (current_ticks - previous_ticks) % TIMETICKS_MODULUS / 100.0
    if abs(wrapped - elapsed_s) <= max(UPTIME_SLACK_S, 0.1 * elapsed_s):
        return wrapped
    return None


def rebooted(previous_ticks: int | None, current_ticks: int | None, elapsed_s: float) -> bool:
    """True when the AP restarted between two polls.

    Either sysUpTime went backwards (and is not a TimeTicks wrap), or the AP has been up for
    less time than passed since the previous poll answered, so that answer came from before the
    restart even though the uptime now is larger than it was then.
    """
    if previous_ticks is None or current_ticks is None:
        return False
    if current_ticks < previous_ticks:
        return uptime_delta_s(previous_ticks, current_ticks, elapsed_s) is None
    return current_ticks / 100.0 + UPTIME_SLACK_S < elapsed_s


def per_second(previous: int | None, current: int | None, elapsed_s: float, *,
               width: int = COUNTER64, restarted: bool = False, kind: str = "octets",
               max_per_second: float | None = None) -> float | None:
    """Rate of a counter between two polls, or None when it cannot be trusted.

    None when: either value is missing or outside the counter's width (a malformed answer), no
    time passed, the AP restarted (counters started again from zero, so the delta is
    meaningless), or the delta implies more than the counter ``kind`` allows
    (`MAX_PER_SECOND`, or ``max_per_second``). A counter that went down is a wrap only when the
    wrapped delta is plausible for its kind; otherwise it was reset without a restart (an
    interface re-created, a driver that clears its error counts) and the poll has no rate.
    """
    if previous is None or current is None or restarted or elapsed_s <= 0:
        return None
    limit = MAX_PER_SECOND[kind] if max_per_second is None else max_per_second
    modulus = 2 ** width
    if not (0 <= previous < modulus and 0 <= current < modulus):
        return None
    delta = counter_delta(previous, current, width)
    rate = delta / elapsed_s
    if rate > limit:
        return None
    return rate


def bits_per_second(previous_octets: int | None, current_octets: int | None, elapsed_s: float,
                    *, restarted: bool = False,
                    max_bps: float = DEFAULT_MAX_PER_SECOND * 8) -> float | None:
    """Octet counter (HC, Counter64) rate in bits per second."""
    octets = per_second(previous_octets, current_octets, elapsed_s, width=COUNTER64,
                        restarted=restarted, kind="octets", max_per_second=max_bps / 8)
    return None if octets is None else octets * 8


def sum_rates(rates) -> float | None:
    """Sum of the rates that are known; None when none is."""
    known = [r for r in rates if r is not None]
    return sum(known) if known else None


__all__ = ["COUNTER32", "COUNTER64", "DEFAULT_MAX_PER_SECOND", "MAX_PER_SECOND", "bits_per_second",
           "counter_delta", "per_second", "rebooted", "sum_rates", "uptime_delta_s"]
