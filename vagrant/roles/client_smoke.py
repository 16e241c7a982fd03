"""A park visitor's phone, after DHCP: option 114, redirected, logs in, files a 940 report and
sees it reach the back office. Standard library only: it runs on a bare client VM too.

Usage: client_smoke.py LEASE_ENV  (the variables busybox udhcpc gave its script)
"""

from __future__ import annotations

import http.cookiejar
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def step(message: str) -> None:
    print(f"[client] smoke: {message}", flush=True)


def fail(message: str) -> None:
    print(f"[client] FAILED: {message}", file=sys.stderr, flush=True)
    sys.exit(1)


def main(lease_path: str) -> None:
    with open(lease_path, encoding="utf-8") as fh:
        lease = dict(line.split("=", 1) for line in fh.read().splitlines() if "=" in line)
    if "opt114" not in lease:
        fail(f"no DHCP option 114 in the lease: {sorted(lease)}")
    api = bytes.fromhex(lease["opt114"]).decode()  # busybox gives unnamed options as hex
    gateway = lease["router"].split()[0]
    if not api.startswith(f"http://{gateway}:"):
        fail(f"option 114 is {api!r}, not the gateway's API")
    step(f"DHCP lease {lease['ip']} with option 114 {api}")

    jar = http.cookiejar.CookieJar()
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)

    def get(url: str, data: bytes | None = None, headers: dict | None = None):
        request = urllib.request.Request(url, data=data, headers=headers or {})
        try:
            with browser.open(request, timeout=10) as reply:
                return reply.status, reply.headers, reply.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers, exc.read().decode("utf-8", "replace")

    state = urllib.request.urlopen(urllib.request.Request(
        api, headers={"Accept": "application/captive+json"}), timeout=10).read().decode()
    if '"captive": true' not in state.replace('"captive":true', '"captive": true'):
        fail(f"the RFC 8908 API does not say captive: {state}")
    internet = sys.argv[2] if len(sys.argv) > 2 else "http://10.30.0.2/hello"
    status, headers, _ = get(internet)
    if status != 302:
        fail(f"{internet} answered {status}, not the portal's redirect")
    portal = headers["Location"]
    base = portal.split("?")[0].rsplit("/", 1)[0] + "/"
    step(f"redirected to {portal.split('?')[0]}")

    status, _, page = get(portal + "&lang=en")
    form = re.search(r'<form method="post" action="/login/terms">(.*?)</form>', page, re.DOTALL)
    if status != 200 or not form:
        fail(f"no terms form on the landing page ({status})")
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"',
                             form.group(1)))
    fields = {k: v.replace("&amp;", "&") for k, v in fields.items()} | {"accept": "yes"}
    status, _, _ = get(urllib.parse.urljoin(base, "/login/terms"),
                       urllib.parse.urlencode(fields).encode())
    if status != 303:
        fail(f"login answered {status}")
    status, _, _ = get(internet)
    if status != 200:
        fail(f"still captive after login ({status})")
    step("logged in and online")

    status, _, page = get(urllib.parse.urljoin(base, "/reports/new"))
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    if status != 200 or not token:
        fail(f"no report form ({status})")
    boundary = uuid.uuid4().hex
    body = "".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                   f"{value}\r\n" for name, value in (("csrf_token", token.group(1)),
                                                     ("category", "lighting"),
                                                     ("description", "Lamp 12 is out")))
    status, _, page = get(urllib.parse.urljoin(base, "/reports/new"),
                          (body + f"--{boundary}--\r\n").encode(),
                          {"Content-Type": f"multipart/form-data; boundary={boundary}"})
    tracking = re.search(r"940-\d{4}-\d{6}", page)
    if status != 200 or not tracking:
        fail(f"filing the report answered {status}")
    step(f"filed 940 report {tracking.group(0)}")

    # The back office acknowledges what it receives; the report then leaves "received".
    deadline = time.monotonic() + 20
    while True:
        status, _, page = get(urllib.parse.urljoin(base, "/reports/mine"))
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        status, _, page = get(urllib.parse.urljoin(base, "/reports/mine"), urllib.parse.urlencode(
            {"csrf_token": token.group(1) if token else "", "tracking": tracking.group(0)}).encode())
        shown = re.search(r'data-status="([a-z_]+)"', page)
        if shown and shown.group(1) != "received":
            break
        if time.monotonic() > deadline:
            fail(f"report {tracking.group(0)} never reached the back office "
                 f"(status {shown.group(1) if shown else status})")
        time.sleep(2)  # the portal allows a few look-ups a minute
    step(f"the back office acknowledged it: status {shown.group(1)}")


if __name__ == "__main__":
    main(sys.argv[1])
