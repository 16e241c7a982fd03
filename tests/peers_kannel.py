"""A real Kannel (Debian's bearerbox + smsbox) with fakesmsc as the operator's SMSC.

``kannel_gateway(callback_url, hook_secret)`` writes a configuration on free loopback ports
(bearerbox with two SMSCs of type ``fake``, ``fake-mt`` for our messages and ``fake-mo`` for
phones' replies, and internal DLR storage; smsbox with a sendsms user and an ``sms-service``
whose ``get-url`` is the admin app's MO hook), starts both boxes and a fakesmsc (kannel-extras)
on ``fake-mt``, and waits until that link is up. `FakeSmsc` keeps the MT messages fakesmsc
prints (reassembling concatenated parts) and injects MO messages on ``fake-mo``. Not a test
module; import the fixture in the test module.
"""

from __future__ import annotations

import re
import socket
import subprocess
import threading
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from captive_portal.sms.kannel import mo_url
from tests.support import free_port, require, require_tool, wait_for

#: Where kannel-extras puts fakesmsc (the folder differs between releases).
FAKESMSC = next((p for p in ("/usr/lib/kannel/test/fakesmsc", "/usr/lib/kannel/fakesmsc")
                 if Path(p).exists()), "/usr/lib/kannel/test/fakesmsc")
_GOT = re.compile(r"Got message \d+: <(.*)>\s*$")


@dataclass
class Mt:
    """A message the SMSC received: sender, receiver, kind (text, data, ucs-2, udh...), text."""
    sender: str
    receiver: str
    kind: str
    text: str
    raw: str


def _octets(data: str) -> bytes:
    return urllib.parse.unquote_to_bytes(data.replace("+", " "))


def _looks_ucs2(octets: bytes) -> bool:
    """UTF-16BE of Arabic and Latin text: every high octet is 0x00 or 0x06."""
    return len(octets) % 2 == 0 and bool(octets) and set(octets[0::2]) <= {0x00, 0x06}


def parse_mt(line: str) -> tuple[Mt, bytes | None]:
    """One line fakesmsc printed (``sender receiver [udh UDH] kind data``); the UDH octets
    when it is a part of a concatenated message. Kannel names UCS-2 ``ucs-2`` in a whole
    message and ``data`` after a UDH, so UCS-2 is also recognised by its octets."""
    sender, receiver, rest = (line.split(" ", 2) + ["", ""])[:3]
    udh = None
    if rest.startswith("udh "):
        udh_text, _, rest = rest[4:].partition(" ")
        udh = _octets(udh_text)
    kind, _, data = rest.partition(" ")
    if kind == "text":
        text = data
    else:
        octets = _octets(data)
        text = octets.decode("utf-16-be" if "ucs" in kind or _looks_ucs2(octets) else "utf-8",
                             "replace")
    return Mt(sender, receiver, f"udh {kind}" if udh is not None else kind, text, line), udh


@dataclass
class FakeSmsc:
    """The operator's side: ``process`` is the fakesmsc that receives MT messages (on the
    ``fake-mt`` SMSC); `inject` runs a fakesmsc of its own per MO message on ``fake-mo``
    (fakesmsc's interactive mode reads stdin through stdio behind a select(), which leaves a
    second line unread until a third arrives)."""

    process: subprocess.Popen
    mo_port: int
    folder: Path
    received: list[Mt] = field(default_factory=list)
    log: list[str] = field(default_factory=list)
    _parts: dict = field(default_factory=dict)
    _arrived: threading.Condition = field(default_factory=threading.Condition)

    def _read(self) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.log.append(line)
            found = _GOT.search(line)
            if not found:
                continue
            mt, udh = parse_mt(found.group(1))
            with self._arrived:
                if udh is not None and len(udh) >= 6 and udh[1] == 0x00:
                    ref, total, index = udh[3], udh[4], udh[5]
                    parts = self._parts.setdefault((mt.receiver, ref), {})
                    parts[index] = mt
                    if len(parts) < total:
                        continue
                    del self._parts[(mt.receiver, ref)]
                    mt = Mt(mt.sender, mt.receiver, mt.kind,
                            "".join(parts[i].text for i in sorted(parts)),
                            "\n".join(parts[i].raw for i in sorted(parts)))
                self.received.append(mt)
                self._arrived.notify_all()

    def wait(self, count: int, timeout: float = 20.0) -> list[Mt]:
        """The first ``count`` messages the SMSC received, once they have."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self.received) >= count, timeout):
                raise AssertionError(f"{len(self.received)} of {count} messages reached "
                                     f"fakesmsc: {self.log[-5:]}")
            return list(self.received)

    def inject(self, sender: str, receiver: str, text: str) -> None:
        """An SMS from a phone (UCS-2, as a phone sends Arabic), handed to Kannel."""
        data = urllib.parse.quote(text.encode("utf-16-be"), safe="")
        process = subprocess.Popen(
            [FAKESMSC, "-H", "127.0.0.1", "-r", str(self.mo_port), "-m", "1",
             f"{sender} {receiver} ucs2 {data}"], stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=self.folder)
        try:
            assert process.stdout is not None
            seen = []
            for raw in process.stdout:  # until it says it sent the message
                seen.append(raw.decode("utf-8", "replace"))
                if "sent message 1" in seen[-1]:
                    break
            else:
                raise AssertionError(f"fakesmsc did not send the MO message: {seen[-5:]}")
        finally:
            _stop(process)


@dataclass
class Kannel:
    sendsms_url: str
    username: str
    password: str
    admin_url: str
    admin_password: str
    folder: Path
    fake: FakeSmsc

    def status(self) -> str:
        query = urllib.parse.urlencode({"password": self.admin_password})
        with urllib.request.urlopen(f"{self.admin_url}/status.txt?{query}", timeout=5) as reply:
            return reply.read().decode("utf-8", "replace")

    def logs(self) -> str:
        return "\n".join((self.folder / name).read_text(errors="replace")[-3000:]
                         for name in ("bearerbox.log", "smsbox.log")
                         if (self.folder / name).exists())


CONFIG = """\
group = core
admin-port = {admin}
admin-password = {admin_password}
admin-interface = 127.0.0.1
smsbox-port = {smsbox}
smsbox-interface = 127.0.0.1
box-allow-ip = 127.0.0.1
log-file = "{folder}/bearerbox.log"
log-level = 1
dlr-storage = internal

group = smsc
smsc = fake
smsc-id = fake-mt
port = {fake}
our-host = 127.0.0.1
connect-allow-ip = 127.0.0.1

group = smsc
smsc = fake
smsc-id = fake-mo
allowed-smsc-id = phones-only
port = {fake_mo}
our-host = 127.0.0.1
connect-allow-ip = 127.0.0.1

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {smsbox}
sendsms-port = {sendsms}
sendsms-interface = 127.0.0.1
log-file = "{folder}/smsbox.log"
log-level = 1

group = sendsms-user
username = {username}
password = {password}
max-messages = 10
concatenation = true

group = sms-service
keyword = default
catch-all = true
max-messages = 0
get-url = "{get_url}"
"""


def _listening(process: subprocess.Popen, port: int, folder: Path) -> None:
    """Wait for a box's port; a box that exited (a port taken in between) fails with its log."""
    def ready() -> bool:
        if process.poll() is not None:
            logs = "\n".join(p.read_text(errors="replace")[-1500:] for p in
                             sorted(folder.glob("*.out")) + sorted(folder.glob("*.log")))
            raise AssertionError(f"{process.args[0]} exited ({process.returncode}):\n{logs}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            return False
    wait_for(ready, 30, what=f"{process.args[0]} on port {port}")


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL: a box shutting down waits for queues and HTTP requests that a
    test no longer needs (nothing here is kept between tests)."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def kannel_gateway(tmp_path) -> Iterator[Callable[[str, str], Kannel]]:
    bearerbox, smsbox = require_tool("bearerbox"), require_tool("smsbox")
    require(Path(FAKESMSC).exists(), f"{FAKESMSC} (Debian package kannel-extras)")
    started: list[subprocess.Popen] = []

    def start(callback_url: str, hook_secret: str) -> Kannel:
        # A port picked free can still be taken before a box binds it ("bind failed"): then
        # the boxes are stopped and started again on other ports, at most three times.
        for attempt in range(3):
            try:
                return start_once(callback_url, hook_secret, attempt)
            except AssertionError as exc:
                if "bind failed" not in str(exc) or attempt == 2:
                    raise
                while started:
                    _stop(started.pop())
        raise AssertionError("unreachable")

    def start_once(callback_url: str, hook_secret: str, attempt: int) -> Kannel:
        folder = tmp_path / ("kannel" if attempt == 0 else f"kannel-{attempt}")
        folder.mkdir()
        names = ("admin", "smsbox", "fake", "fake_mo", "sendsms")
        picked: list[int] = []
        while len(picked) < len(names):  # five different ports
            if (port := free_port()) not in picked:
                picked.append(port)
        ports = dict(zip(names, picked))
        values = dict(ports, folder=folder, admin_password="admin-pw", username="oasis",
                      password="sendsms-pw", get_url=mo_url(callback_url, hook_secret))
        conf = folder / "kannel.conf"
        conf.write_text(CONFIG.format(**values))
        for box, port in ((bearerbox, ports["smsbox"]), (smsbox, ports["sendsms"])):
            with (folder / f"{Path(box).name}.out").open("wb") as out:
                started.append(subprocess.Popen([box, str(conf)], stdout=out,
                                                stderr=subprocess.STDOUT, cwd=folder))
            _listening(started[-1], port, folder)
        _listening(started[0], ports["fake"], folder)
        # -m 0: fakesmsc sends nothing and prints each MT message as soon as it arrives.
        process = subprocess.Popen([FAKESMSC, "-H", "127.0.0.1", "-r", str(ports["fake"]),
                                    "-m", "0", "0 0 text unused"], stdin=subprocess.DEVNULL,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=folder)
        started.append(process)
        fake = FakeSmsc(process, ports["fake_mo"], folder)
        threading.Thread(target=fake._read, name="fakesmsc-reader", daemon=True).start()
        gateway = Kannel(f"http://127.0.0.1:{ports['sendsms']}/cgi-bin/sendsms", "oasis",
                         "sendsms-pw", f"http://127.0.0.1:{ports['admin']}", "admin-pw",
                         folder, fake)
        wait_for(lambda: "fake-mt" in gateway.status() and "online" in gateway.status(), 30,
                 what=f"Kannel's fake SMSC online ({fake.log[-3:]})")
        return gateway

    try:
        yield start
    finally:
        for process in reversed(started):
            _stop(process)


__all__ = ["FakeSmsc", "Kannel", "Mt", "kannel_gateway", "parse_mt"]
