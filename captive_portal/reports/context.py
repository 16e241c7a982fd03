"""What the report pages and Open311 share on one portal app: config, the photo workers and
the wake-up hook.

Kept in ``app.extensions["oasis_reports"]`` next to the portal's own context, never in module
globals. ``on_filed`` lets the process that runs the forwarder publish a new report at once
instead of at its next poll.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, current_app

from captive_portal.reports.config import ReportsConfig
from captive_portal.reports.photos import PhotoWorkers

EXTENSION = "oasis_reports"


class ReportsContext:
    def __init__(self, config: ReportsConfig, on_filed: Callable[[], None] | None = None):
        self.config = config
        self.on_filed = on_filed
        #: Photo decoding in this process (one portal app per process): its own few threads.
        self.photo_workers = PhotoWorkers(config.photo_workers, config.photo_queue,
                                          config.photo_wait_s)

    def filed(self) -> None:
        if self.on_filed is not None:
            self.on_filed()


def init_context(app: Flask, config: ReportsConfig | None = None) -> ReportsContext:
    context = app.extensions.get(EXTENSION)
    if context is None:
        context = app.extensions[EXTENSION] = ReportsContext(
            config or app.config.get("OASIS_REPORTS") or ReportsConfig())
    return context


def configure(app: Flask, config: ReportsConfig,
              on_filed: Callable[[], None] | None = None) -> ReportsContext:
    """Give a built portal app its ``[reports]`` settings (and, in the forwarder's process,
    a way to wake it); call before serving."""
    context = app.extensions[EXTENSION] = ReportsContext(config, on_filed)
    return context


def reports_context() -> ReportsContext:
    return current_app.extensions[EXTENSION]


__all__ = ["EXTENSION", "ReportsContext", "configure", "init_context", "reports_context"]
