"""Enough of a Cisco IOS CLI (autonomous Aironet) for netmiko's ``cisco_ios`` driver.

netmiko needs: a prompt ending in ``>`` or ``#``, ``terminal width`` and ``terminal length 0``
echoed and answered, ``configure terminal`` leading to a ``(config)#`` prompt and sub-mode
prompts (``(config-ssid)#``, ``(config-if)#``), ``end`` back to ``#``, and ``write memory``.
The configuration is kept as IOS prints it; sub-mode lines are stored as given (a single-valued
keyword such as ``channel`` replaces its earlier line, as on IOS). Changes take effect as they
are typed, so leaving configuration mode after a change counts as one applied change.
"""

from __future__ import annotations

from agents.apsim.ssh_state import ApConfigState

#: Sub-mode keywords that hold one value: a new line replaces the old one.
_SINGLE = ("channel", "power local", "vlan", "station-role", "wpa-psk", "authentication open",
           "authentication key-management", "guest-mode", "ip address", "description")
_INVALID = "% Invalid input detected at '^' marker.\n"


def parse(text: str) -> list[list]:
    """Running-config text -> [[header, [children]]] (separators and ``end`` dropped)."""
    blocks: list[list] = []
    for line in text.splitlines():
        if not line.strip() or line.strip() in ("!", "end"):
            continue
        if line.startswith(" ") and blocks:
            blocks[-1][1].append(line.strip())
        elif not line.startswith(" "):
            blocks.append([line.rstrip(), []])
    return blocks


def serialise(blocks: list[list]) -> str:
    lines = []
    for header, children in blocks:
        lines.append(header)
        lines += [f" {c}" for c in children]
        lines.append("!")
    return "\n".join(lines + ["end"]) + "\n"


def _keyword(line: str) -> str:
    positive = line[3:] if line.startswith("no ") else line
    for keyword in _SINGLE:
        if positive.startswith(keyword):
            return keyword
    if positive in ("shutdown",):
        return "shutdown"
    return line


class IosCli:
    """One SSH session's CLI on a simulated Cisco Aironet AP."""

    def __init__(self, ap: ApConfigState):
        self.ap = ap
        self.mode = "enable"            # a privilege-15 user logs in at the # prompt
        self.block: list | None = None  # the block a sub-mode edits
        self.changed = False

    @property
    def hostname(self) -> str:
        for header, _ in parse(self.ap.running):
            if header.startswith("hostname "):
                return header.split(None, 1)[1]
        return self.ap.name

    @property
    def prompt(self) -> str:
        suffix = {"exec": ">", "enable": "#", "config": "(config)#",
                  "config-ssid": "(config-ssid)#", "config-if": "(config-if)#"}[self.mode]
        return f"{self.hostname}{suffix}"

    def banner(self) -> str:
        return "\n"

    def run(self, line: str) -> str:
        command = " ".join(line.split())
        if not command:
            return ""
        if self.mode in ("exec", "enable"):
            return self._exec(command)
        if command.startswith("do "):
            return self._exec(command[3:])
        if command == "end":
            return self._leave_config()
        if self.mode == "config":
            return self._config(command)
        return self._submode(command)

    # --- exec / enable ---------------------------------------------------------------------

    def _exec(self, command: str) -> str:
        words = command.split()
        if command in ("enable", "en"):
            self.mode = "enable"
            return ""
        if command == "disable":
            self.mode = "exec"
            return ""
        if words[0] == "terminal" and len(words) == 3 and words[1] in ("length", "width"):
            return ""
        if command == "show version":
            return (f"Cisco IOS Software, C3700 Software (AP3G2-K9W7-M), Version 15.3(3)JF15\n"
                    f"{self.hostname} uptime is 1 day\n")
        if self.mode == "exec":
            return _INVALID
        if command in ("show running-config", "show run", "sh run"):
            with self.ap.lock:
                text = self.ap.running
            return (f"Building configuration...\n\nCurrent configuration : {len(text)} bytes\n!\n"
                    + text)
        if command in ("show startup-config", "sh start"):
            return self.ap.startup
        if command in ("configure terminal", "conf t", "config t"):
            self.mode, self.changed = "config", False
            return "Enter configuration commands, one per line.  End with CNTL/Z.\n"
        if command in ("write memory", "write mem", "wr", "copy running-config startup-config"):
            with self.ap.lock:
                self.ap.startup = self.ap.running
            return "Building configuration...\n[OK]\n"
        return _INVALID

    # --- configuration -----------------------------------------------------------------------

    def _edit(self, change) -> None:
        with self.ap.lock:
            blocks = parse(self.ap.running)
            change(blocks)
            self.ap.running = serialise(blocks)
        self.changed = True

    def _find(self, blocks: list[list], header: str) -> list | None:
        return next((b for b in blocks if b[0] == header), None)

    def _enter(self, header: str, mode: str) -> str:
        def ensure(blocks):
            if self._find(blocks, header) is None:
                blocks.insert(max(len(blocks) - 1, 0) if mode == "config-ssid" else len(blocks),
                              [header, []])
        self._edit(ensure)
        self.mode, self.block = mode, [header]
        return ""

    def _config(self, command: str) -> str:
        if command == "exit":
            return self._leave_config()
        if command.startswith("hostname "):
            name = command.split(None, 1)[1]
            self._edit(lambda bs: [b.__setitem__(0, f"hostname {name}") for b in bs
                                   if b[0].startswith("hostname ")])
            return ""
        if command.startswith("dot11 ssid "):
            return self._enter(command, "config-ssid")
        if command.startswith("interface "):
            return self._enter(command, "config-if")
        if command.startswith("no dot11 ssid "):
            ssid = command[len("no dot11 ssid "):]

            def remove(blocks):
                blocks[:] = [b for b in blocks if b[0] != f"dot11 ssid {ssid}"]
                for block in blocks:   # IOS also drops the SSID from every radio
                    block[1][:] = [c for c in block[1] if c != f"ssid {ssid}"]
            self._edit(remove)
            return ""
        if command.startswith("default interface "):
            header = command[len("default "):]
            self._edit(lambda bs: [b[1].clear() for b in bs if b[0] == header])
            return ""
        return _INVALID

    def _submode(self, command: str) -> str:
        if command == "exit":
            self.mode, self.block = "config", None
            return ""
        assert self.block is not None  # a sub-mode is entered with its block
        header = self.block[0]

        def apply(blocks):
            block = self._find(blocks, header)
            if block is None:
                return
            children = block[1]
            if command.startswith("no ") and command[3:] in children:
                children.remove(command[3:])
                return
            key = _keyword(command)
            children[:] = [c for c in children if _keyword(c) != key and c != command]
            children.append(command)
        self._edit(apply)
        return ""

    def _leave_config(self) -> str:
        self.mode, self.block = "enable", None
        if self.changed:
            self.changed = False
            self.ap.applied_change()
        return ""


def is_config_command(cli: IosCli, line: str) -> bool:
    """Whether a line changes configuration (counted for the mid-push hang fault)."""
    return cli.mode.startswith("config") and line.strip() not in ("", "end", "exit")
