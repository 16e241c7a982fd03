"""[reporting]: holidays, the weekend and targets are read and refused as an operator writes them."""

import datetime as dt

import pytest

from core.config import ConfigError, load_config


def test_holidays_and_runs_of_days_from_the_environment():
    config = load_config(env={"OASIS_REPORTING_HOLIDAYS": "2026-12-18, 2027-03-20..2027-03-22"})
    assert config.reporting.holiday_dates() == {
        dt.date(2026, 12, 18), dt.date(2027, 3, 20), dt.date(2027, 3, 21), dt.date(2027, 3, 22)}
    assert config.reporting.weekend_days() == {5, 6}  # Friday and Saturday


@pytest.mark.parametrize("env, named", [
    ({"OASIS_REPORTING_HOLIDAYS": "2026-13-01"}, "holidays"),
    ({"OASIS_REPORTING_HOLIDAYS": "2026-12-20..2026-12-01"}, "holidays"),
    ({"OASIS_REPORTING_WEEKEND": "5,8"}, "weekend"),
    ({"OASIS_REPORTING_AVAILABILITY_AMBER": "99.5"}, "availability_amber"),
    ({"OASIS_REPORTING_SERVICE_SLA_AMBER": "95"}, "service_sla_amber"),
    ({"OASIS_MUNICIPALITY_TIMEZONE": "Asia/Nowhere"}, "timezone"),
])
def test_a_wrong_value_is_refused_naming_its_key(env, named):
    with pytest.raises((ConfigError, ValueError)) as refused:
        load_config(env=env)
    assert named in str(refused.value)
