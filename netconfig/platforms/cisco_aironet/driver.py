"""Cisco Aironet autonomous APs (IOS CLI): ``dot11 ssid`` blocks and ``interface Dot11Radio``.

Config text is ``show running-config``. The managed part is every ``dot11 ssid ...`` block and
every ``interface Dot11Radio<n>`` block; the rest (hostname, wired interfaces, users) is backed up
but never touched. A changed SSID block is removed and recreated (``no dot11 ssid``), and a
changed radio is reset with ``default interface`` before its lines are sent, so what the device
ends up with is exactly the template's block and not a merge with leftovers. Radios are re-sent
whenever an SSID changed, because removing an SSID on IOS also removes it from the radios.
"""

from __future__ import annotations

import re

from netconfig.platforms.base import CliSession

_MANAGED = ("dot11 ssid ", "interface Dot11Radio")
_SECRET = re.compile(r"^(\s*wpa-psk ascii \d )\S.*$", re.MULTILINE)
#: What the IOS CLI cannot take in an SSID or a passphrase typed as a command's last words:
#: ``?`` opens the CLI's help instead of being typed, ``"`` starts IOS quoting, and the Aironet
#: configuration guides refuse ``+``, ``]``, ``/`` and tab in SSIDs; ``!``, ``#`` and ``;``
#: cannot come first (comment and separator characters).
_CLI_REFUSED = '?"+]/\t'
_CLI_REFUSED_FIRST = "!#;"


def parse_blocks(text: str) -> dict[str, list[str]]:
    """Managed top-level blocks: header -> child lines (stripped, device order)."""
    blocks: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.split("\n"):
        if not line.strip() or line.strip() == "!":
            current = None if not line.startswith(" ") else current
            continue
        if not line.startswith(" "):
            header = line.rstrip(" \r")
            current = blocks.setdefault(header, []) if header.startswith(_MANAGED) else None
        elif current is not None:
            current.append(line.strip())
    return blocks


def render_blocks(blocks: dict[str, list[str]]) -> str:
    lines: list[str] = []
    for header in sorted(blocks):
        lines.append(header)
        lines += [f" {child}" for child in sorted(blocks[header])]
        lines.append("!")
    return "\n".join(lines) + ("\n" if lines else "")


class CiscoAironetDriver:
    template: str = "config.j2"
    ascii_ssid_only: bool = True  # IOS takes the SSID as a CLI word list: ASCII only
    security_modes: tuple[str, ...] = ("open", "wpa2")  # autonomous IOS predates WPA3
    radio_names: dict[str, str] = {"2g": "Dot11Radio0", "5g": "Dot11Radio1"}

    def read_running(self, session: CliSession, hint: str = "") -> str:
        return session.command("show running-config")

    def canonical(self, text: str) -> str:
        return render_blocks(parse_blocks(text))

    def comparable(self, running: str, desired: str) -> str:
        return self.canonical(running)

    def commands(self, running: str, desired: str, *, exact: bool) -> list[str]:
        have, want = parse_blocks(running), parse_blocks(desired)
        same = {h for h in want if sorted(have.get(h, ["<absent>"])) == sorted(want[h])}
        out: list[str] = []
        ssid_changed = False
        for header in have:
            if header.startswith("dot11 ssid ") and header not in want:
                out.append(f"no {header}")
                ssid_changed = True
        for header, children in want.items():
            if header.startswith("dot11 ssid ") and header not in same:
                if header in have:
                    out.append(f"no {header}")
                out += [header, *children, "exit"]
                ssid_changed = True
        for header, children in want.items():
            if header.startswith("interface ") and (ssid_changed or header not in same):
                out += [f"default {header}", header, *children, "exit"]
        if exact:
            for header in have:
                if header.startswith("interface ") and header not in want:
                    out.append(f"default {header}")
        return out

    def converge(self, session: CliSession, running: str, desired: str, *,
                 exact: bool) -> list[str]:
        commands = self.commands(running, desired, exact=exact)
        if commands:
            session.configure(commands)
            session.save()
        return commands

    def redact(self, text: str) -> str:
        return _SECRET.sub(r"\1********", text)

    def cli_refusal(self, value: str) -> str | None:
        refused = sorted({c for c in value if c in _CLI_REFUSED})
        if refused:
            shown = ", ".join("tab" if c == "\t" else repr(c) for c in refused)
            return f"the IOS CLI cannot take {shown} here"
        if value[:1] in tuple(_CLI_REFUSED_FIRST):
            return f"the IOS CLI cannot take {value[0]!r} as the first character"
        if value != value.strip(" ") or "  " in value:
            # IOS splits the line into words: edge spaces vanish and runs of spaces become one.
            return "the IOS CLI drops spaces at either end and merges runs of spaces"
        return None
