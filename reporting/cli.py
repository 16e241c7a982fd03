"""``oasis report ...``: a period's KPI report to a file, and the schedules that mail them.

Registered on the ``oasis`` group by the controller's CLI, whose context object gives
``config``, ``store`` and ``actor`` (reporting cannot import the controller).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import sys
import time
from pathlib import Path
from typing import Any

import click

from core.config import MunicipalityConfig
from core.localtime import show, unix, zone
from reporting import areas as registry
from reporting import export, pdf, schedules
from reporting.i18n import LOCALES, direction, translator
from reporting.model import Filters, Period, PeriodError, Section
from reporting.serialize import section_json

FORMATS = ("pdf", "xlsx", "csv", "json")


@click.group("report")
def report() -> None:
    """KPI reports: build a period's report to a file; schedules that mail them."""


def _filters(site: str | None, ap: int | None, category: str | None,
             branch: str | None) -> Filters:
    return Filters(site=site or None, ap=ap, category=category or None, branch=branch or None)


def _all_csv(sections: list[Section], _) -> bytes:
    """Every table one after the other: a title row, the table, an empty row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for section in sections:
        for table in section.tables:
            writer.writerow([f"{_(section.title)}: {_(table.title)}"])
            body = export.table_csv(table, _).decode("utf-8-sig")
            out.write(body)
            writer.writerow([])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


@report.command("build")
@click.option("--period", "period_text", default="30d", show_default=True,
              help="1d, 7d, 30d, 365d, month:2026-11, week:2026-W47 or 2026-11-01..2026-11-15.")
@click.option("--lang", type=click.Choice(LOCALES), default="ar", show_default=True)
@click.option("--format", "kind", type=click.Choice(FORMATS), default="pdf", show_default=True)
@click.option("--area", "area_names", multiple=True,
              help="Only these areas (repeatable; default: all).")
@click.option("--table", "table_key", help="CSV: only this table (e.g. availability-aps).")
@click.option("--site", help="A site's slug.")
@click.option("--ap", type=int, help="An AP's id.")
@click.option("--category", help="A 940 service code.")
@click.option("--branch", help="A backhaul branch.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The file to write ('-' for standard output).")
@click.pass_obj
def build(obj: Any, period_text: str, lang: str, kind: str, area_names: tuple[str, ...],
          table_key: str | None, site: str | None, ap: int | None, category: str | None,
          branch: str | None, output: Path) -> None:
    """Build the KPI report of a period to a file (progress on standard error)."""
    config = obj.config
    tz = config.section(MunicipalityConfig).timezone
    try:
        period = Period.parse(period_text, tz, now=time.time())
        chosen = [registry.area(name) for name in area_names] or list(registry.registry())
    except PeriodError as exc:
        raise click.BadParameter(exc.message) from None
    filters = _filters(site, ap, category, branch)
    _ = translator(lang)
    sections: list[Section] = []
    started = time.monotonic()
    steps: list[registry.Area | None] = [*chosen, None]  # None: render the file
    with click.progressbar(steps, label=f"report {period.name}", file=sys.stderr,
                           item_show_func=lambda s: s.name if s else "render") as bar:
        data = b""
        for step in bar:
            if step is None:
                data = _render(sections, config, lang, kind, table_key, _)
            else:
                sections.append(step.build(obj.store, config, period, filters))
    if str(output) == "-":
        sys.stdout.buffer.write(data)
    else:
        output.write_bytes(data)
        click.echo(f"{output}: {kind}, {len(data):,} bytes, {period.name} "
                   f"({show(period.start, tz, '%Y-%m-%d')} – {show(period.end - 1, tz, '%Y-%m-%d')}),"
                   f" {time.monotonic() - started:.1f} s", err=True)


def _render(sections: list[Section], config, lang: str, kind: str, table_key: str | None,
            _) -> bytes:
    if kind == "pdf":
        return pdf.render(sections, config, lang)
    if kind == "xlsx":
        return export.workbook(sections, _, rtl=direction(lang) == "rtl")
    if kind == "json":
        return json.dumps([section_json(s, _) for s in sections], ensure_ascii=False,
                          indent=2).encode("utf-8")
    if table_key:
        for section in sections:
            for table in section.tables:
                if table.key == table_key:
                    return export.table_csv(table, _)
        keys = ", ".join(t.key for s in sections for t in s.tables)
        raise click.BadParameter(f"no table {table_key!r}; tables: {keys}", param_hint="--table")
    return _all_csv(sections, _)


# ---- schedules ---------------------------------------------------------------------------------

@report.group("schedule")
def schedule() -> None:
    """Reports built on a schedule and mailed ([mail]); kept under [reporting] reports_folder."""


@schedule.command("add")
@click.argument("name")
@click.option("--every", type=click.Choice(("month", "week")), required=True,
              help="month: the month before, on the 1st; week: the ISO week before.")
@click.option("--lang", type=click.Choice(LOCALES), default="ar", show_default=True)
@click.option("--format", "formats", type=click.Choice(schedules.FORMATS), multiple=True,
              help="pdf (default) and/or xlsx.")
@click.option("--to", "recipients", multiple=True, help="A recipient's address (repeatable).")
@click.option("--site", help="Only this site (default: the whole network).")
@click.option("--weekday", type=click.IntRange(1, 7), default=7, show_default=True,
              help="Weekly: the ISO weekday it is sent on (7 = Sunday).")
@click.option("--hour", type=click.IntRange(0, 23), default=6, show_default=True,
              help="The local hour it is sent at.")
@click.pass_obj
def schedule_add(obj: Any, name: str, every: str, lang: str, formats: tuple[str, ...],
                 recipients: tuple[str, ...], site: str | None, weekday: int,
                 hour: int) -> None:
    """Add a schedule NAME."""
    try:
        added = schedules.add_schedule(obj.store, name=name, every=every, lang=lang,
                                       formats=list(formats) or ["pdf"],
                                       recipients=list(recipients), site=site,
                                       weekday=weekday, hour=hour, actor=obj.actor)
    except schedules.ScheduleError as exc:
        raise click.BadParameter(str(exc)) from None
    click.echo(f"schedule {added.name}: every {added.every}, {added.lang}, "
               f"{','.join(added.formats)} to {', '.join(added.recipients) or '(kept only)'}")


@schedule.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def schedule_list(obj: Any, as_json: bool) -> None:
    """The schedules."""
    rows = [{"name": s.name, "every": s.every, "lang": s.lang, "formats": ",".join(s.formats),
             "recipients": ",".join(s.recipients), "site": s.site or "",
             "when": (f"day {s.weekday} " if s.every == "week" else "1st ") + f"{s.hour:02d}:00",
             "active": s.active} for s in schedules.list_schedules(obj.store)]
    _emit(rows, ["name", "every", "when", "lang", "formats", "recipients", "site", "active"],
          as_json)


def _emit(rows: list[dict], columns: list[str], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
        return
    if not rows:
        click.echo("(none)")
        return
    cells = [[str(r.get(c, "")) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    click.echo("  ".join(c.upper().ljust(w) for c, w in zip(columns, widths)).rstrip())
    for row in cells:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())


@schedule.command("remove")
@click.argument("name")
@click.pass_obj
def schedule_remove(obj: Any, name: str) -> None:
    """Remove schedule NAME (its kept reports go with it from the list; files stay)."""
    try:
        schedules.remove_schedule(obj.store, name, actor=obj.actor)
    except schedules.ScheduleError as exc:
        raise click.BadParameter(str(exc)) from None
    click.echo(f"schedule {name} removed")


@schedule.command("pause")
@click.argument("name")
@click.pass_obj
def schedule_pause(obj: Any, name: str) -> None:
    """Stop building and sending NAME until it is resumed."""
    schedules.set_active(obj.store, name, False, actor=obj.actor)
    click.echo(f"schedule {name} paused")


@schedule.command("resume")
@click.argument("name")
@click.pass_obj
def schedule_resume(obj: Any, name: str) -> None:
    """Resume NAME."""
    schedules.set_active(obj.store, name, True, actor=obj.actor)
    click.echo(f"schedule {name} resumed")


@schedule.command("run")
@click.option("--at", "at_text", help="Act as if it were this local time (YYYY-MM-DDTHH:MM); "
              "default: now. Periods already built are not built or sent again.")
@click.pass_obj
def schedule_run(obj: Any, at_text: str | None) -> None:
    """Build and send what is due now (what `oasis run` does every minute)."""
    tz = obj.config.section(MunicipalityConfig).timezone
    at = None
    if at_text:
        try:
            at = unix(dt.datetime.fromisoformat(at_text).replace(tzinfo=zone(tz)))
        except ValueError:
            raise click.BadParameter("YYYY-MM-DDTHH:MM", param_hint="--at") from None
    worked = schedules.run_due(obj.store, obj.config, at=at)
    runs = {r["id"]: r for r in schedules.runs(obj.store)}
    for run_id in worked:
        run = runs[run_id]
        click.echo(f"{run['name']} {run['period']}: {run['status']}"
                   + (f" ({run['error']})" if run["error"] else ""))
    if not worked:
        click.echo("nothing due")


@schedule.command("runs")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def schedule_runs(obj: Any, as_json: bool) -> None:
    """The latest runs: period, status, when built and sent."""
    tz = obj.config.section(MunicipalityConfig).timezone
    rows = [{**r, "built": show(r["built_at"], tz) if r["built_at"] else "",
             "sent": show(r["sent_at"], tz) if r["sent_at"] else ""}
            for r in schedules.runs(obj.store)]
    _emit(rows, ["name", "period", "status", "built", "sent", "attempts", "error"], as_json)
