"""A Linux AP running hostapd, configured through one file over SSH (netmiko ``linux``).

The whole file is owned by the template: pushing writes it to ``<path>.new`` and renames it over
the old one (a reader never sees half a file), then runs the reload command if one is set. The
file's path travels inside the config text as its first line (``# path: ...``), so a backup
alone is enough to restore it.
"""

from __future__ import annotations

import re
import shlex

from netconfig.platforms.base import CliSession

_PATH = re.compile(r"^# path: (\S+)$", re.MULTILINE)
_RELOAD = re.compile(r"^# reload: (.+)$", re.MULTILINE)
_SECRET = re.compile(r"^((?:wpa_passphrase|sae_password)=).*$", re.MULTILINE)
#: The same line inside a push command, where it is one shell word: ``'wpa_passphrase=...'``
#: with any ``'`` in it written as ``'"'"'`` (shlex.quote).
_SECRET_WORD = re.compile(r"""'((?:wpa_passphrase|sae_password)=)(?:[^']|'"'"')*'""")
DEFAULT_PATH = "/etc/hostapd/oasis.conf"
#: Longest command line sent: below the 511-column terminal netmiko opens, so the shell's echo
#: is never wrapped (netmiko matches each command's echo before it goes on).
_LINE_LIMIT = 400


def config_path(text: str) -> str:
    match = _PATH.search(text)
    return match.group(1) if match else DEFAULT_PATH


class HostapdFileDriver:
    template: str = "hostapd.conf.j2"
    ascii_ssid_only: bool = False
    security_modes: tuple[str, ...] = ("open", "wpa2", "wpa3", "wpa2-wpa3")
    radio_names: dict[str, str] = {"2g": "wlan0", "5g": "wlan1"}

    def __init__(self, path_hint: str = DEFAULT_PATH):
        self.path_hint = path_hint

    def read_running(self, session: CliSession, hint: str = "") -> str:
        path = config_path(hint) if hint else self.path_hint
        return session.command(f"cat {shlex.quote(path)} 2>/dev/null || true")

    def canonical(self, text: str) -> str:
        # Only LF ends a line (hostapd reads with fgets), so U+2028 and friends stay inside
        # their value; trailing spaces are part of a hostapd value and are kept.
        lines = [line.rstrip("\r") for line in text.split("\n")]
        return "\n".join(line for line in lines if line) + "\n"

    def comparable(self, running: str, desired: str) -> str:
        return self.canonical(running)

    def commands(self, running: str, desired: str, *, exact: bool) -> list[str]:
        if self.canonical(running) == self.canonical(desired):
            return []
        path = config_path(desired)
        staging = shlex.quote(path + ".new")
        lines = self.canonical(desired).split("\n")[:-1]
        out = [f"mkdir -p {shlex.quote(path.rsplit('/', 1)[0] or '/')} && : > {staging}"]
        head = "printf '%s\\n'"
        tail = f" >> {staging}"
        chunk: list[str] = []
        for line in lines:
            quoted = shlex.quote(line)
            if chunk and len(head) + len(tail) + sum(len(c) + 1 for c in chunk) + len(quoted) + 1 \
                    > _LINE_LIMIT:
                out.append(head + " " + " ".join(chunk) + tail)
                chunk = []
            chunk.append(quoted)
        if chunk:
            out.append(head + " " + " ".join(chunk) + tail)
        out.append(f"mv {staging} {shlex.quote(path)}")
        reload = _RELOAD.search(desired)
        if reload:
            out.append(reload.group(1))
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
        return _SECRET_WORD.sub(r"'\1********'", _SECRET.sub(r"\1********", text))
