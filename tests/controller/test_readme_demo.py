"""The README, verbatim: `oasis run --demo` in one process, the "try it" block in a second.

The demo starts in a folder of its own (as `make run` does in a checkout, with `.venv` beside
it), on free ports (OASIS_* overrides; the banner prints the URLs it really serves), and each
command of the README's block runs in another process with the block's environment, as a
newcomer pasting them into a second terminal would. The outcomes are the README's: the demo's
APs listed, the simulator steered, a push (dry run, then for real) exiting 0; and the banner's
URLs answer: the admin login, the API index, the visitor's way in to the portal (a phone login
whose SMS code is read on the admin's SMS outbox page).
"""

from __future__ import annotations

import html
import http.cookiejar
import json
import os
import queue
import random
import re
import shlex
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from agents.apsim.inventory import simulated_inventory
from tests.support import free_port, free_udp_port, wait_for

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
START_TIMEOUT_S = 60.0

pytestmark = pytest.mark.slow


def try_it_block() -> str:
    text = README.read_text(encoding="utf-8")
    match = re.search(r"Try it from another terminal.*?```sh\n(.*?)```", text, re.S)
    assert match, "README.md has no 'Try it from another terminal' sh block"
    return match.group(1)


def block_commands(block: str) -> tuple[dict[str, str], list[list[str]]]:
    """The block's exports and its commands (as argv), comments dropped."""
    exports, commands = {}, []
    for line in block.splitlines():
        words = shlex.split(line, comments=True)
        if not words:
            continue
        if words[0] == "export":
            for assignment in words[1:]:
                name, _, value = assignment.partition("=")
                exports[name] = value
        else:
            commands.append(words)
    return exports, commands


class Browser:
    """Cookies, redirects followed, every status answered (no exception for a 4xx)."""

    def __init__(self) -> None:
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def open(self, url: str, data: dict | None = None) -> tuple[int, str, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            with self.opener.open(url, data=body, timeout=20) as response:
                return response.status, response.url, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.url, exc.read().decode()


def hidden_fields(page: str, action: str) -> dict[str, str]:
    form = re.search(rf'<form[^>]*action="{re.escape(action)}".*?</form>', page, re.S)
    assert form, f"no form posting to {action}"
    return {name: html.unescape(value) for name, value in re.findall(
        r'<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"', form.group(0))}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """`oasis run --demo` in a fresh folder; yields (folder, environment, banner lines)."""
    folder = tmp_path_factory.mktemp("checkout")
    (folder / ".venv").symlink_to(ROOT / ".venv")
    env = dict(os.environ)
    env.pop("OASIS_CONFIG", None)
    env.update({
        "OASIS_ADMIN_LISTEN": f"127.0.0.1:{free_port()}",
        "OASIS_PORTAL_LISTEN": f"127.0.0.1:{free_port()}",
        "OASIS_MQTT_EMBEDDED_LISTEN": f"127.0.0.1:{free_port()}",
        "OASIS_SNMP_TRAP_LISTEN": f"127.0.0.1:{free_udp_port()}",
        "OASIS_APSIM_CONTROL": f"127.0.0.1:{free_port()}",
        # Addresses of their own for the simulated APs (SNMP and SSH), beside any other demo.
        "OASIS_APSIM_FIRST_ADDRESS": f"127.{random.randint(80, 250)}.{random.randint(1, 250)}.1",
    })
    process = subprocess.Popen([sys.executable, "-m", "controller", "run", "--demo"],
                               cwd=folder, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    banner: list[str] = []
    deadline = time.monotonic() + START_TIMEOUT_S
    try:
        while not banner or banner[-1] != "Ctrl-C stops.":
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            assert line is not None, "the demo exited:\n" + "\n".join(banner)
            banner.append(line)
        yield folder, env, banner
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def banner_url(banner: list[str], label: str) -> str:
    for line in banner:
        if line.strip().startswith(label):
            match = re.search(r"https?://\S+", line)
            assert match, line
            return match.group(0)
    raise AssertionError(f"no '{label}' line in the banner:\n" + "\n".join(banner))


def test_every_command_of_the_readme_block_does_what_it_says(demo):
    folder, env, banner = demo
    exports, commands = block_commands(try_it_block())
    assert exports.get("OASIS_CONFIG") == "var/demo/oasis.toml"
    second = {**env, **exports}
    names = [ap["name"] for ap in simulated_inventory(
        20, env["OASIS_APSIM_FIRST_ADDRESS"], 1161)]

    def run(argv: list[str]) -> subprocess.CompletedProcess:
        done = subprocess.run(argv, cwd=folder, env=second, capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 0, f"{shlex.join(argv)} exited {done.returncode}:\n" \
                                     f"{done.stdout}\n{done.stderr}"
        return done

    seen = set()
    for argv in commands:
        assert argv[0] == ".venv/bin/oasis", argv  # what a newcomer has after `make run`
        done = run(argv)
        words = argv[1:]
        if words[:2] in (["apsim", "reboot"], ["apsim", "unreachable"]):
            reply = json.loads(done.stdout)
            assert reply["ap"]["name"] == words[2]
            if words[1] == "reboot":
                assert reply["ap"]["uptime_s"] < 60  # the AP just came back up
            else:
                assert reply["ap"]["reachable"] is False
        elif words[:2] == ["ap", "list"]:
            listed = [line.split()[0] for line in done.stdout.splitlines()[1:] if line.strip()]
            assert sorted(listed) == sorted(names)  # the demo's store, not an empty one
        elif words[:2] == ["config", "push"]:
            assert "--dry-run" in words
            assert re.search(r"job \d+: succeeded", done.stdout), done.stdout
            # "then without --dry-run": the push itself, also promised by the README.
            pushed = run([w for w in argv if w != "--dry-run"])
            assert re.search(r"job \d+: succeeded", pushed.stdout), pushed.stdout
        seen.add(" ".join(words[:2]))
    assert seen >= {"apsim reboot", "apsim unreachable", "ap list", "config push"}

    # What the block's comments promise, read from the REST API with a token made as the README
    # says (`oasis token create`): the rebooted AP's coldStart trap, the unreachable one degraded.
    made = run([".venv/bin/oasis", "token", "create", "admin", "--name", "readme"]).stdout
    token = re.search(r"oasis_\S+", made)
    assert token, made
    api = banner_url(banner, "REST API")

    def get(path: str) -> dict:
        request = urllib.request.Request(api + path,
                                         headers={"Authorization": f"Bearer {token.group(0)}"})
        with urllib.request.urlopen(request, timeout=20) as response:
            return json.loads(response.read())

    wait_for(lambda: "coldStart" in [e["kind"] for e in get("aps/KAP-AP-03/events")["events"]],
             30, interval=0.5, what="KAP-AP-03's coldStart trap")
    wait_for(lambda: get("aps/AW-AP-02/status")["state"] in ("degraded", "down"), 40,
             interval=0.5, what="AW-AP-02 degraded by the poller")


def test_the_banner_urls_answer_and_a_visitor_logs_in_with_the_code_on_the_sms_page(demo):
    _, _, banner = demo
    admin = banner_url(banner, "admin UI")
    login = re.search(r"demo login\s+(\S+) / (\S+)", "\n".join(banner))
    assert login, banner

    browser = Browser()
    status, _, page = browser.open(admin + "login")
    assert status == 200 and 'name="password"' in page

    status, _, page = browser.open(banner_url(banner, "REST API"))
    assert status == 200
    index = json.loads(page)
    assert {"sites", "aps"} <= {area["name"] for area in index["areas"]}
    status, _, page = browser.open(index["openapi"])
    assert status == 200 and json.loads(page)["openapi"].startswith("3.1")

    # The visitor's way in: a made-up phone, as a park gateway would redirect it.
    portal_root = banner_url(banner, "portal")
    visitor = Browser()
    for entry in (banner_url(banner, "visitor"), portal_root):
        status, url, page = visitor.open(entry)
        assert status == 200 and "gw=demo" in url, (entry, status, url)
    phone = "0551234567"
    fields = hidden_fields(page, "/login/phone")
    status, _, page = visitor.open(portal_root + "login/phone", {**fields, "phone": phone})
    assert status == 200, page

    # Its code, on the admin's SMS outbox page (the banner names it), after signing in.
    sms_page = re.search(r"(https?://\S+/sms/)", "\n".join(banner))
    assert sms_page, banner
    status, _, form = browser.open(admin + "login")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form)
    assert token
    browser.open(admin + "login", {"username": login.group(1), "password": login.group(2),
                                   "csrf_token": token.group(1)})
    status, _, outbox = browser.open(sms_page.group(1))
    assert status == 200
    rows = [row for row in re.findall(r"<tr data-id=.*?</tr>", outbox, re.S)
            if phone[1:] in row]  # the visitor's number (+966 551234567), newest first
    bodies = [html.unescape(body) for row in rows
              for body in re.findall(r'<td class="sms-body"[^>]*>([^<]*)</td>', row)]
    codes = [found.group(1) for body in bodies if (found := re.search(r"(\d{4,8})", body))]
    assert codes, f"no code on the SMS outbox page: {bodies}"

    fields = hidden_fields(page, "/login/code")
    status, url, page = visitor.open(portal_root + "login/code",
                                     {**fields, "phone": fields.get("phone", phone),
                                      "code": codes[0]})
    # The demo's gateway acked the session: the visitor is online.
    errors = re.findall(r'class="[^"]*error[^"]*"[^>]*>([^<]+)<', page)
    assert status == 200 and "/status" in url, (status, url, errors, codes)

    # Every other URL the banner prints answers too (the admin's pages signed in).
    for url in re.findall(r"https?://[^\s),;]+", "\n".join(banner)):
        assert browser.open(url)[0] == 200, url
