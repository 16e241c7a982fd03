"""Counter arithmetic: wraps, restarts and implausible deltas."""

import pytest

from controller.monitoring.rates import (
    COUNTER32,
    COUNTER64,
    bits_per_second,
    counter_delta,
    per_second,
    rebooted,
    sum_rates,
    uptime_delta_s,
)


def test_plain_increase():
    assert counter_delta(100, 250) == 150
    assert per_second(100, 250, 10.0) == 15.0


def test_counter64_wraps_at_2_pow_64():
    previous = 2 ** 64 - 1000
    assert counter_delta(previous, 500, COUNTER64) == 1500
    assert per_second(previous, 500, 15.0) == 100.0


def test_counter32_wraps_at_2_pow_32():
    assert counter_delta(2 ** 32 - 10, 5, COUNTER32) == 15
    assert per_second(2 ** 32 - 10, 5, 5.0, width=COUNTER32) == 3.0


def test_value_outside_width_is_rejected():
    with pytest.raises(ValueError):
        counter_delta(0, 2 ** 32, COUNTER32)
    with pytest.raises(ValueError):
        counter_delta(0, 1, 16)


def test_unchanged_counter_is_zero_rate():
    assert per_second(42, 42, 60.0) == 0.0


def test_missing_values_or_no_elapsed_time_give_no_rate():
    assert per_second(None, 5, 10.0) is None
    assert per_second(5, None, 10.0) is None
    assert per_second(5, 10, 0.0) is None


def test_reset_without_restart_is_not_an_absurd_rate():
    # An interface re-created: counter fell from 5e9 to 1e3; read as a wrap it would be ~2**64.
    assert per_second(5_000_000_000, 1_000, 60.0) is None


def test_restart_gives_no_rate():
    assert per_second(5_000, 10, 60.0, restarted=True) is None


def test_uptime_going_backwards_is_a_reboot():
    assert rebooted(360_000, 1_500, 60.0)          # was up 1 h, now 15 s


def test_uptime_smaller_than_interval_is_a_reboot():
    # Previous answer 5 s after boot; AP restarted again: up 20 s now while 60 s passed.
    assert rebooted(500, 2_000, 60.0)


def test_normal_progress_is_not_a_reboot():
    assert not rebooted(360_000, 366_000, 60.0)
    assert not rebooted(None, 100, 60.0)
    assert not rebooted(100, None, 60.0)


def test_timeticks_wrap_is_not_a_reboot():
    previous = 2 ** 32 - 3_000           # 30 s before the 497-day wrap
    current = 3_000                      # 30 s after it
    assert uptime_delta_s(previous, current, 60.0) == 60.0
    assert not rebooted(previous, current, 60.0)


def test_reboot_then_counters_smaller_yield_no_rate_not_negative():
    restarted = rebooted(8_640_000, 1_000, 60.0)
    assert restarted
    assert per_second(10 ** 12, 4_096, 60.0, restarted=restarted) is None


def test_bits_per_second():
    assert bits_per_second(0, 1_250_000, 10.0) == 1_000_000.0
    assert bits_per_second(2 ** 64 - 125, 125, 1.0) == 2_000.0
    assert bits_per_second(None, 1, 1.0) is None


def test_sum_rates_ignores_unknown():
    assert sum_rates([1.0, None, 2.5]) == 3.5
    assert sum_rates([None, None]) is None
    assert sum_rates([]) is None


def test_error_counter_reset_without_reboot_is_not_a_wrap():
    # Defect 20: 7,912 -> 161 in 4.96 s read as a Counter32 wrap was 865,583,610 errors/s.
    assert per_second(7_912, 161, 4.962, width=COUNTER32, kind="errors") is None
    assert per_second(7_912, 161, 300.0, width=COUNTER32, kind="errors") is None
    # A counter near the top that wraps with a plausible count is still a wrap.
    assert per_second(2 ** 32 - 100, 50, 60.0, width=COUNTER32, kind="errors") == 2.5


def test_each_counter_kind_has_its_own_limit():
    wrapped = (2 ** 32 - 7_912 + 161) / 60.0           # ~71.6 M per second
    assert per_second(7_912, 161, 60.0, width=COUNTER32, kind="octets") == wrapped
    assert per_second(7_912, 161, 60.0, width=COUNTER32, kind="packets") == wrapped
    assert per_second(7_912, 161, 60.0, width=COUNTER32, kind="errors") is None
    assert per_second(0, 60_000_000_000, 1.0, kind="packets") is None
    with pytest.raises(KeyError):
        per_second(0, 1, 1.0, kind="furlongs")


def test_a_value_outside_the_counter_width_gives_no_rate():
    # An agent that answers a Counter32 column with a larger number: no rate, no exception.
    assert per_second(0, 2 ** 32, 60.0, width=COUNTER32) is None
    assert per_second(-1, 5, 60.0) is None
