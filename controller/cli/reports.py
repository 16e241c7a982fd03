"""``oasis reports ...``: the forwarder process, the category catalogue, Open311 keys, reports."""

from __future__ import annotations

import signal
import threading
import time

import click

from captive_portal.reports import open311_keys
from captive_portal.reports.catalogue import (
    Category,
    CategoryError,
    get_category,
    list_categories,
    save_category,
)
from captive_portal.reports.intake import ReportError
from captive_portal.reports.lifecycle import STATUSES, TransitionError
from captive_portal.reports.outbox import counts
from captive_portal.reports.priority import PRIORITIES
from captive_portal.reports.records import ReportFilter, find_reports
from captive_portal.reports.service import ReportsService
from captive_portal.reports.workflow import transition
from controller.cli.context import CliContext, emit
from core.store import iso

pass_ctx = click.make_pass_decorator(CliContext)


@click.group()
def reports() -> None:
    """940 reports: forwarding to the back office, categories, Open311 keys."""


@reports.command("forward")
@click.option("--retry-sms", is_flag=True,
              help="Also retry failed SMS (when no portal process runs to do it).")
@pass_ctx
def forward(obj: CliContext, retry_sms: bool) -> None:
    """Run the outbox forwarder, status consumer and SLA watcher until interrupted."""
    config = obj.config
    if not config.mqtt.addresses():
        raise click.ClickException("mqtt.brokers and mqtt.host are empty: the forwarder needs "
                                   "a broker")
    service = ReportsService(config.store_location(), config.mqtt,
                             obj.config.reports,
                             sms_config=config.sms,
                             retry_sms=retry_sms)
    stopping = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopping.set())
    service.start()
    click.echo(f"forwarding 940 reports to {config.mqtt.describe()} "
               f"as {service.link.client_id}", err=True)
    try:
        stopping.wait()
    finally:
        service.stop()


@reports.command("outbox")
@pass_ctx
def outbox_state(obj: CliContext) -> None:
    """Outbox rows per state (pending, sent, acknowledged)."""
    for state, number in sorted(counts(obj.store.conn).items()):
        click.echo(f"{state:13} {number}")


@reports.command("list")
@click.option("--status", type=click.Choice(STATUSES), multiple=True)
@click.option("--category", multiple=True)
@click.option("--overdue", is_flag=True)
@click.option("--limit", default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def list_reports(obj: CliContext, status, category, overdue: bool, limit: int,
                 as_json: bool) -> None:
    """Reports, overdue first."""
    now = time.time()
    found = find_reports(obj.store, ReportFilter(
        statuses=list(status) or None, categories=list(category) or None,
        overdue_at=now if overdue else None, limit=limit, overdue_first_at=now))
    rows = [{"tracking": r.tracking, "category": r.category, "priority": r.priority,
             "status": r.status, "site": r.site, "created": iso(r.created_at),
             "due": iso(r.due_at), "escalation": r.escalation_level} for r in found]
    emit(rows, ["tracking", "category", "priority", "status", "site", "due", "escalation"],
         as_json)


@reports.command("move")
@click.argument("tracking")
@click.argument("status", type=click.Choice(STATUSES))
@click.option("--note")
@pass_ctx
def move(obj: CliContext, tracking: str, status: str, note: str | None) -> None:
    """Move a report by hand (the back office is told through the outbox)."""
    try:
        report = transition(obj.store, tracking, status, actor="admin", now=time.time(),
                            config=obj.config.reports, note=note)
    except (ReportError, TransitionError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{report.tracking} is {report.status}")


@reports.group("category")
def category() -> None:
    """The category catalogue (Open311 services)."""


@category.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def category_list(obj: CliContext, as_json: bool) -> None:
    rows = [c.__dict__ for c in list_categories(obj.store, include_inactive=True)]
    emit(rows, ["code", "name_en", "name_ar", "default_priority", "sla_hours", "team", "active"],
         as_json)


@category.command("set")
@click.argument("code")
@click.option("--name-ar")
@click.option("--name-en")
@click.option("--priority", type=click.Choice(PRIORITIES))
@click.option("--sla-hours", type=int)
@click.option("--team")
@click.option("--active/--inactive", default=None)
@pass_ctx
def category_set(obj: CliContext, code: str, name_ar, name_en, priority, sla_hours, team,
                 active) -> None:
    """Add a category or change some of its values."""
    current = get_category(obj.store, code, include_inactive=True)
    base = current.__dict__ if current else {
        "code": code, "name_ar": "", "name_en": "", "description_ar": "", "description_en": "",
        "grp": "", "keywords": "", "default_priority": "normal", "sla_hours": 72, "team": "",
        "active": 1, "sort_order": 100}
    changes = {"name_ar": name_ar, "name_en": name_en, "default_priority": priority,
               "sla_hours": sla_hours, "team": team,
               "active": None if active is None else int(active)}
    merged = {**base, **{k: v for k, v in changes.items() if v is not None}}
    try:
        save_category(obj.store, Category(**merged))
    except CategoryError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"category {code} saved")


@reports.command("open311-key")
@click.argument("name")
@pass_ctx
def open311_key(obj: CliContext, name: str) -> None:
    """Create an Open311 API key for a client; printed once, only its hash is kept."""
    click.echo(open311_keys.issue(obj.store, name))
