"""``[reporting]``: what the KPI reports reckon with. Business days follow the Saudi weekend
(Friday and Saturday) and the holidays listed here; targets colour figures green, amber or red.
The municipality's names and time zone are in ``[municipality]`` (core)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass
class ReportingConfig:
    #: Public holidays (local dates, YYYY-MM-DD, or YYYY-MM-DD..YYYY-MM-DD for a run of days):
    #: not business days for the 940 times to acknowledge and close.
    holidays: list[str] = field(default_factory=list)
    #: ISO weekday numbers of the weekend (Monday 1 ... Sunday 7): Friday and Saturday.
    weekend: list[str] = field(default_factory=lambda: ["5", "6"])
    #: Availability target (percent): green at or above, amber down to ``availability_amber``.
    availability_green: float = 99.0
    availability_amber: float = 97.0
    #: Backhaul: a link that comes back up and goes down again within this many seconds flaps.
    flap_window_s: float = 600.0
    #: 940 reports closed within their category's SLA (percent): green at or above, amber down
    #: to ``service_sla_amber``.
    service_sla_green: float = 90.0
    service_sla_amber: float = 80.0
    #: Where reports built on a schedule are kept for download (files 0600).
    reports_folder: str = "var/reports"

    def validate(self) -> None:
        self.holiday_dates()
        days = self.weekend_days()
        if len(days) > 6:
            raise ValueError("weekend: at least one business day a week")
        if not 0 <= self.availability_amber <= self.availability_green <= 100:
            raise ValueError("availability_amber: must lie between 0 and availability_green")
        if not 0 < self.flap_window_s <= 86400:
            raise ValueError("flap_window_s: seconds, more than 0 and at most 86400")
        if not 0 <= self.service_sla_amber <= self.service_sla_green <= 100:
            raise ValueError("service_sla_amber: must lie between 0 and service_sla_green")
        if not self.reports_folder.strip():
            raise ValueError("reports_folder: a folder for the reports built on a schedule")

    def weekend_days(self) -> frozenset[int]:
        try:
            days = frozenset(int(d) for d in self.weekend)
        except ValueError:
            raise ValueError(f"weekend: ISO weekday numbers 1-7, got {self.weekend!r}") from None
        if not days <= set(range(1, 8)):
            raise ValueError(f"weekend: ISO weekday numbers 1-7, got {self.weekend!r}")
        return days

    def holiday_dates(self) -> frozenset[dt.date]:
        dates: set[dt.date] = set()
        for item in self.holidays:
            first, _, last = item.partition("..")
            try:
                start = dt.date.fromisoformat(first.strip())
                end = dt.date.fromisoformat(last.strip()) if last else start
            except ValueError:
                raise ValueError(f"holidays: {item!r} is not YYYY-MM-DD or "
                                 "YYYY-MM-DD..YYYY-MM-DD") from None
            if end < start or (end - start).days > 60:
                raise ValueError(f"holidays: {item!r}: the last day must follow the first, "
                                 "within 60 days")
            dates.update(start + dt.timedelta(days=n) for n in range((end - start).days + 1))
        return frozenset(dates)
