"""OpenWrt over SSH: the ``wireless`` UCI package, read with ``uci -X show`` and changed with
``uci set/delete``, then ``uci commit`` and ``wifi reload``.

Config text is ``uci -X show wireless`` output (``-X``: anonymous sections keep their stable
``cfgXXXXXX`` names, not ``@wifi-iface[0]`` indexes that shift as sections go). Values stay in
UCI's own shell quoting (``'it'\\''s'``), so they pass to ``uci set`` as printed.

Ownership: a template owns every ``wifi-iface`` section (an SSID it does not list is removed),
but only the options it sets on a ``wifi-device`` (radio ``path`` and hardware options stay as the
device has them). A restore from backup (``exact``) owns everything.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

from netconfig.platforms.base import CliSession

PACKAGE = "wireless"
OWNED_TYPES = ("wifi-iface",)
_LINE = re.compile(r"^(?P<pkg>[A-Za-z0-9_-]+)\.(?P<section>[A-Za-z0-9_@\[\]-]+)"
                   r"(?:\.(?P<option>[A-Za-z0-9_]+))?=(?P<value>.*)$")
_SECRET_OPTIONS = ("key", "sae_password", "password")
#: A secret option in ``uci show`` text or in the ``uci set``/``add_list`` command that sets it.
_SECRET_LINE = re.compile(r"^((?:uci (?:-q )?(?:set|add_list) )?\S+\.(?:"
                          + "|".join(_SECRET_OPTIONS) + r"))=.*$", re.MULTILINE)


@dataclass
class Section:
    kind: str
    options: dict[str, str] = field(default_factory=dict)


def parse(text: str) -> dict[str, Section]:
    """``uci show`` lines -> sections; lines of other packages and noise are ignored."""
    sections: dict[str, Section] = {}
    # Only LF ends a line: str.splitlines() would also split at U+0085/U+2028 inside a value.
    for raw in text.split("\n"):
        match = _LINE.match(raw.strip())
        if not match or match["pkg"] != PACKAGE:
            continue
        name, option, value = match["section"], match["option"], match["value"]
        if option is None:
            sections.setdefault(name, Section(value)).kind = value
        else:
            sections.setdefault(name, Section("")).options[option] = value
    return sections


def render_text(sections: dict[str, Section]) -> str:
    lines = []
    for name in sorted(sections):
        section = sections[name]
        lines.append(f"{PACKAGE}.{name}={section.kind}")
        lines += [f"{PACKAGE}.{name}.{opt}={section.options[opt]}"
                  for opt in sorted(section.options)]
    return "\n".join(lines) + ("\n" if lines else "")


def _set_option(path: str, raw: str) -> list[str]:
    values = shlex.split(raw)
    if len(values) <= 1:
        return [f"uci set {path}={raw}"]
    # A list option: UCI prints its items space-separated, each quoted.
    return [f"uci -q delete {path}"] + [f"uci add_list {path}={shlex.quote(v)}" for v in values]


class OpenWrtDriver:
    template: str = "wireless.j2"
    ascii_ssid_only: bool = False
    security_modes: tuple[str, ...] = ("open", "wpa2", "wpa3", "wpa2-wpa3")
    radio_names: dict[str, str] = {"2g": "radio0", "5g": "radio1"}

    def read_running(self, session: CliSession, hint: str = "") -> str:
        return session.command(f"uci -X show {PACKAGE}")

    def canonical(self, text: str) -> str:
        return render_text(parse(text))

    def comparable(self, running: str, desired: str) -> str:
        have, want = parse(running), parse(desired)
        view: dict[str, Section] = {}
        for name, section in have.items():
            if section.kind in OWNED_TYPES:
                view[name] = section
            elif name in want:
                managed = want[name].options
                view[name] = Section(section.kind, {k: v for k, v in section.options.items()
                                                    if k in managed})
        return render_text(view)

    def commands(self, running: str, desired: str, *, exact: bool) -> list[str]:
        """The UCI commands that take ``running`` to ``desired`` (empty: nothing to do)."""
        have, want = parse(running), parse(desired)
        out: list[str] = []
        for name, section in have.items():
            if name not in want and (exact or section.kind in OWNED_TYPES):
                out.append(f"uci delete {PACKAGE}.{name}")
        for name, section in want.items():
            path = f"{PACKAGE}.{name}"
            current = have.get(name)
            if current is None or current.kind != section.kind:
                if current is not None:
                    out.append(f"uci delete {path}")
                out.append(f"uci set {path}={section.kind}")
                current = Section(section.kind)
            owned = exact or section.kind in OWNED_TYPES
            for option in current.options:
                if option not in section.options and owned:
                    out.append(f"uci delete {path}.{option}")
            for option, value in section.options.items():
                if current.options.get(option) != value:
                    out += _set_option(f"{path}.{option}", value)
        if out:
            out += [f"uci commit {PACKAGE}", "wifi reload"]
        return out

    def converge(self, session: CliSession, running: str, desired: str, *,
                 exact: bool) -> list[str]:
        commands = self.commands(running, desired, exact=exact)
        if commands:
            session.configure(commands)
        return commands

    def cli_refusal(self, value: str) -> str | None:
        return None   # values travel quoted, byte for byte

    def redact(self, text: str) -> str:
        return _SECRET_LINE.sub(r"\1='********'", text)
