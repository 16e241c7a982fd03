"""Enough of an OpenWrt root shell for provisioning: ``uci`` on the ``wireless`` package,
``wifi reload`` and ``cat /etc/config/wireless``.

``uci set/delete/add_list`` stage changes in the session (real UCI keeps them in /tmp/.uci until
``uci commit``); ``uci show`` shows committed plus staged values, as the real tool does;
``uci commit`` writes them; ``wifi reload`` applies them to the radios, which is when the SSID
changes on the air (and in SNMP). Output formats follow uci 2023: ``pkg.section=type`` and
``pkg.section.option='value'`` lines.
"""

from __future__ import annotations

import re
import shlex

from agents.apsim.ssh_state import ApConfigState

PACKAGE = "wireless"
_PATH = re.compile(r"^(?P<pkg>[a-z0-9_-]+)(?:\.(?P<section>[A-Za-z0-9_@\[\]-]+))?"
                   r"(?:\.(?P<option>[A-Za-z0-9_]+))?$")
CONFIG_COMMANDS = ("uci set", "uci delete", "uci add_list", "uci -q delete", "uci commit",
                   "uci revert", "wifi")


def _quote(value: str) -> str:
    return "'" + value.replace("'", "'\\''") + "'"


class OpenWrtShell:
    """One SSH session's shell on a simulated OpenWrt AP."""

    def __init__(self, ap: ApConfigState):
        self.ap = ap
        self.staged: dict | None = None     # a working copy of ap.uci while changes are staged

    @property
    def prompt(self) -> str:
        return f"root@{self.ap.name}:~# "

    def banner(self) -> str:
        return ("\n\nBusyBox v1.36.1 (2024-09-23) built-in shell (ash)\n\n"
                f" OpenWrt 23.05.5, simulated AP {self.ap.name}\n\n")

    def _view(self) -> dict:
        return self.staged if self.staged is not None else self.ap.uci

    def _stage(self) -> dict:
        if self.staged is None:
            with self.ap.lock:
                self.staged = {k: (t, dict(o)) for k, (t, o) in self.ap.uci.items()}
        return self.staged

    def run(self, line: str) -> str:
        """Execute one command line; returns its output (may be empty)."""
        output = []
        for command in (part.strip() for part in line.split(";")):
            if command:
                output.append(self._one(command))
        return "".join(output)

    def _one(self, command: str) -> str:
        try:
            words = shlex.split(command)
        except ValueError:
            return "-ash: syntax error: unterminated quoted string\n"
        if not words:
            return ""
        if words[0] == "uci":
            return self._uci(words[1:])
        if words[:2] == ["wifi", "reload"] or words == ["wifi"] or words[:2] == ["wifi", "up"]:
            self.ap.applied_change()
            return ""
        if words == ["cat", "/etc/config/wireless"]:
            return self._config_file()
        if words[0] in ("echo",):
            return " ".join(words[1:]) + "\n"
        if words[0] in ("true", ":", "export", "stty"):
            return ""
        return f"-ash: {words[0]}: not found\n"

    def _uci(self, args: list[str]) -> str:
        quiet = False
        while args and args[0].startswith("-"):
            quiet = quiet or args[0] == "-q"
            args = args[1:]
        if not args:
            return "Usage: uci [<options>] <command> [<arguments>]\n"
        verb, rest = args[0], args[1:]
        if verb == "show":
            return self._show(rest[0] if rest else PACKAGE)
        if verb == "changes":
            unchanged = self.staged is None or self.staged == self.ap.uci
            return "" if unchanged else f"{PACKAGE}: staged\n"
        if verb == "commit":
            if self.staged is not None:
                with self.ap.lock:
                    self.ap.uci = self.staged
                self.staged = None
            return ""
        if verb == "revert":
            self.staged = None
            return ""
        if verb in ("set", "add_list", "delete") and rest:
            return self._change(verb, rest[0], quiet)
        return "" if quiet else "uci: Invalid argument\n"

    def _change(self, verb: str, expression: str, quiet: bool) -> str:
        path, _, value = expression.partition("=")
        match = _PATH.match(path)
        if not match or match["pkg"] != PACKAGE or not match["section"]:
            return "" if quiet else "uci: Invalid argument\n"
        config = self._stage()
        section, option = match["section"], match["option"]
        if verb == "delete":
            if option is None:
                found = config.pop(section, None)
            else:
                found = config.get(section, (None, {}))[1].pop(option, None)
            return "" if found is not None or quiet else "uci: Entry not found\n"
        if option is None:
            kind, options = config.get(section, (value, {}))
            config[section] = (value, options if kind == value else {})
            return ""
        if section not in config:
            return "" if quiet else "uci: Entry not found\n"
        options = config[section][1]
        if verb == "add_list":
            options[option] = (options[option] + " " if option in options else "") + _quote(value)
        else:
            options[option] = _quote(value)
        return ""

    def _show(self, path: str) -> str:
        match = _PATH.match(path)
        if not match or match["pkg"] != PACKAGE:
            return "uci: Entry not found\n"
        lines = []
        for name, (kind, options) in self._view().items():
            if match["section"] and name != match["section"]:
                continue
            if not match["option"]:
                lines.append(f"{PACKAGE}.{name}={kind}")
            for option, value in options.items():
                if not match["option"] or option == match["option"]:
                    lines.append(f"{PACKAGE}.{name}.{option}={value}")
        return "\n".join(lines) + "\n" if lines else "uci: Entry not found\n"

    def _config_file(self) -> str:
        out = []
        with self.ap.lock:
            for name, (kind, options) in self.ap.uci.items():
                out.append(f"\nconfig {kind} '{name}'")
                for option, value in options.items():
                    words = shlex.split(value)
                    keyword = "list" if len(words) > 1 else "option"
                    out += [f"\t{keyword} {option} {_quote(w)}" for w in (words or [""])]
        return "\n".join(out) + "\n\n"


def is_config_command(line: str) -> bool:
    """Whether a line changes configuration (counted for the mid-push hang fault)."""
    return line.strip().startswith(CONFIG_COMMANDS)
