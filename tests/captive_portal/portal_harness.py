"""The one harness for the portal app (login pages, 940 report pages and Open311 are one app):
a fresh store with a registered gateway and an Open311 key, the app with a test client, and the
walks through its pages a phone makes. The park gateway is `FakeGatewayControl`; the lab drives
the real one."""

from __future__ import annotations

import hashlib
import re
import time

from cryptography.fernet import Fernet

from captive_portal import create_app
from captive_portal.config import PortalSettings
from captive_portal.gateways import Ack, register_gateway
from captive_portal.reports.config import ReportsConfig
from core.contracts.signature import ClientClaim, sign
from core.secrets import SecretBox
from core.store import Store
from tests.captive_portal.reports_pipeline import FAST
from tests.peers_postgres import store_location

MAC = "02:00:00:00:00:01"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class FakeGatewayControl:
    """Stands in for a park gateway (its nftables need root and a namespace): records commands
    and acks them, or answers ``ack`` once a test sets it."""

    def __init__(self) -> None:
        self.commands: list[tuple] = []
        self.ack = Ack(True, nft_ms=0.2)

    def allow(self, gateway_id, grant, timeout_s):
        self.commands.append(("allow", gateway_id, grant))
        return self.ack

    def deny(self, gateway_id, session_id, mac, ip, reason, timeout_s):
        self.commands.append(("deny", gateway_id, session_id, reason))
        return Ack(True)


class Portal:
    """The app, its test client and store, the gateway's key, an Open311 ``API_KEY``.

    ``portal`` overrides `[portal]` settings by name; ``reports`` is the 940 settings the app
    serves (fast re-sends unless a test asks otherwise).
    """

    API_KEY = "test-open311-key"

    def __init__(self, tmp_path, reports: ReportsConfig = FAST, **portal):
        self.settings = PortalSettings()
        self.settings.portal.secure_cookies = False
        self.settings.sms.outbox = str(tmp_path / "sms.jsonl")
        for key, value in portal.items():
            setattr(self.settings.portal, key, value)
        self.store_path = store_location(tmp_path / "portal.db")
        box = SecretBox(Fernet.generate_key())
        self.store = Store(self.store_path)
        self.gateway_key = register_gateway(self.store, box, "gw1").encode()
        with self.store.transaction() as conn:
            conn.execute("INSERT INTO open311_keys (name, key_sha256, created_at) VALUES "
                         "('tests', ?, 0)", (hashlib.sha256(self.API_KEY.encode()).hexdigest(),))
        self.now = time.time()
        self.gateway = FakeGatewayControl()
        self.app = create_app(self.settings, store_path=self.store_path, secret_box=box,
                              gateway=self.gateway, secret_key=b"k" * 32,
                              clock=lambda: self.now, testing=True)
        self.app.extensions["oasis_reports"].config = reports
        self.client = self.app.test_client()

    # ---- the login pages ---------------------------------------------------------------------

    def params(self, mac=MAC, url="http://example.com/a", age=0.0, key=None) -> dict:
        """The signed query string the gateway's redirect gives a phone."""
        claim = ClientClaim("gw1", mac, "10.77.0.100", url, int(self.now - age))
        return sign(claim, key or self.gateway_key)

    def landing(self, headers=None, **kwargs):
        return self.client.get("/", query_string=self.params(**kwargs), headers=headers or {})

    def form(self, html: str) -> dict:
        return dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', html))

    def post(self, path: str, page, headers=None, **fields):
        """Submit the form of ``page`` (its hidden fields) with ``fields`` filled in."""
        data = {**self.form(page.get_data(as_text=True)), **fields}
        return self.client.post(path, data=data, headers=headers or {})

    def login_terms(self):
        return self.post("/login/terms", self.landing(), accept="yes")

    # ---- the 940 report pages ----------------------------------------------------------------

    def counts(self) -> tuple[int, int, int, int]:
        """(reports, outbox rows, photos, events): what a refused request must leave alone."""
        return tuple(self.store.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                     for table in ("reports", "report_outbox", "report_photos", "report_events"))

    def csrf(self, path="/reports/new") -> str:
        return _CSRF.search(self.client.get(path).get_data(as_text=True)).group(1)

    def file_report(self, files=None, **fields):
        """File the report form; a field given as None is left out."""
        data = {"csrf_token": self.csrf(), "category": "lighting",
                "description": "The lamp near the playground is out", "address": "North gate"}
        data.update(fields)
        data = {k: v for k, v in data.items() if v is not None}
        if files:
            data["photos"] = files
        return self.client.post("/reports/new", data=data, content_type="multipart/form-data")

    def last_sms(self) -> str:
        return self.store.conn.execute("SELECT body FROM sms_messages ORDER BY id DESC LIMIT 1"
                                       ).fetchone()[0]

    def file_report_with_phone(self) -> str:
        """File a report with a phone and verify it (a wrong code first): its tracking number."""
        response = self.file_report(phone="0501234567")
        html = response.get_data(as_text=True)
        assert response.status_code == 200 and 'id="verify-phone"' in html
        tracking = re.search(r"940-\d{4}-\d{6}", html).group(0)
        code = code_in(self.last_sms())
        csrf = self.csrf()
        wrong = self.client.post(f"/reports/{tracking}/verify", data={"csrf_token": csrf,
                                                                      "code": "000000"})
        assert wrong.status_code == 400 and error_code(wrong) == "code_invalid"
        right = self.client.post(f"/reports/{tracking}/verify", data={"csrf_token": csrf,
                                                                      "code": code})
        assert right.status_code == 200 and "+966501234567" in right.get_data(as_text=True)
        return tracking

    def answer_closure(self, tracking, code, answer="confirm"):
        """Confirm (or dispute) a resolution with the closure code texted to the citizen."""
        return self.client.post("/reports/closure", data={
            "csrf_token": self.csrf("/reports/mine"), "tracking": tracking,
            "phone": "0501234567", "code": code, "answer": answer})

    # ---- Open311 -----------------------------------------------------------------------------

    def post311(self, fmt="json", **fields):
        data = {"api_key": self.API_KEY, "service_code": "lighting", "lat": "25.383",
                "long": "49.586", "description": "The lamp by the north gate is out"}
        data.update(fields)
        return self.client.post(f"/open311/v2/requests.{fmt}",
                                data={k: v for k, v in data.items() if v is not None})


def error_code(response) -> str:
    """The ``data-code`` a portal error page carries."""
    return re.search(r'data-code="([^"]+)"', response.get_data(as_text=True)).group(1)


def code_in(text: str) -> str:
    """The six-digit code in an SMS (not part of a tracking number)."""
    return re.search(r"(?<![-\d])\d{6}(?![-\d])", text).group(0)
