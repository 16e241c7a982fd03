"""Sites and access points: validation and changes, shared by the CLI, the REST API and the UI.

Every change validates first and writes in one transaction with its audit entry, so a bad input
leaves nothing behind. Errors carry a stable ``code`` (for the API) and the offending ``field``.
Secrets (SNMP community and v3 keys, SSH password) are encrypted with the SecretBox on the way in
and never returned: views say only whether each one is set.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import sqlite3
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, Literal, overload

from core import audit
from core.errors import CodedError
from core.secrets import SecretBox
from core.store import Store, now, with_iso

SITE_KINDS = ("park", "walkway", "branch")
#: SNMPv3 protocols, as core.snmp_usm names them (AES192C/AES256C: Cisco's key extension).
AUTH_PROTOS = ("SHA", "SHA224", "SHA256", "SHA384", "SHA512", "MD5")
PRIV_PROTOS = ("AES", "AES192", "AES256", "AES192C", "AES256C", "DES")
SECRET_FIELDS = ("snmp_community", "snmp_auth_key", "snmp_priv_key", "ssh_password")
AP_FIELDS = ("name", "mac", "mgmt_ip", "platform", "site", "capacity", "snmp_version", "snmp_port",
             "snmp_community", "snmp_user", "snmp_auth_proto", "snmp_auth_key", "snmp_priv_proto",
             "snmp_priv_key", "snmp_context", "snmp_engine_id", "ssh_port", "ssh_username",
             "ssh_password", "lat", "lon")
#: The SNMPv3-only fields, cleared when an AP moves to v2c.
V3_FIELDS = ("snmp_user", "snmp_auth_key", "snmp_priv_key", "snmp_auth_proto", "snmp_priv_proto",
             "snmp_context", "snmp_engine_id")
SITE_FIELDS = ("slug", "name_ar", "name_en", "kind", "lat", "lon")

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_MAC_HEX = re.compile(r"^[0-9a-f]{12}$")


class InventoryError(CodedError, ValueError):
    """A change was refused. ``code`` is stable for API clients; ``field`` names the input."""


class NotFound(InventoryError):
    def __init__(self, what: str, ref: object):
        super().__init__("not_found", f"{what} {ref!r} does not exist", None)


def normalise_mac(value: object) -> str:
    """Accept aa:bb:.., aa-bb-.., aabb.ccdd.eeff or bare hex; return lower-case colon form."""
    text = str(value or "").strip().lower()
    bare = re.sub(r"[:\-.]", "", text)
    if not _MAC_HEX.match(bare) or not re.match(r"^[0-9a-f:\-.]+$", text):
        raise InventoryError("invalid_mac", f"not a MAC address: {value!r}", "mac")
    if int(bare[:2], 16) & 1:
        raise InventoryError("invalid_mac", f"{value!r} is a multicast MAC, not a device", "mac")
    return ":".join(bare[i:i + 2] for i in range(0, 12, 2))


def normalise_ip(value: object, field: str = "mgmt_ip") -> str:
    try:
        address = ipaddress.ip_address(str(value or "").strip())
    except ValueError:
        raise InventoryError("invalid_ip", f"not an IP address: {value!r}", field) from None
    if address.is_multicast or address.is_unspecified:
        raise InventoryError("invalid_ip", f"{value!r} cannot be a device address", field)
    return str(address)


@overload
def _text(data: Mapping, field: str, *, required: Literal[True] = ..., limit: int = ...) -> str: ...
@overload
def _text(data: Mapping, field: str, *, required: bool, limit: int = ...) -> str | None: ...
def _text(data: Mapping, field: str, *, required: bool = True, limit: int = 200) -> str | None:
    value = data.get(field)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InventoryError("missing_field", f"{field} is required", field)
        return None
    if not isinstance(value, str):
        raise InventoryError("invalid_field", f"{field} must be text", field)
    value = value.strip()
    # A lone surrogate (from JSON's "\ud800", or an argument that was not UTF-8) is no
    # character: the store could not even encode it.
    if len(value) > limit or any(ord(c) < 32 or 0xD800 <= ord(c) <= 0xDFFF for c in value):
        raise InventoryError("invalid_field",
                             f"{field} must be at most {limit} printable characters", field)
    return value


def _number(data: Mapping, field: str, kind: type, lo: float, hi: float,
            default: object = None) -> object:
    value = data.get(field)
    if value is None or value == "":
        return default
    try:
        if isinstance(value, bool):
            raise ValueError
        number = kind(value)
        if kind is int and isinstance(value, float) and not value.is_integer():
            raise ValueError
    except (TypeError, ValueError):
        raise InventoryError("invalid_field", f"{field} must be a number, got {value!r}",
                             field) from None
    if not lo <= number <= hi:
        raise InventoryError("invalid_field", f"{field} must be between {lo} and {hi}", field)
    return number


def _reject_unknown(data: Mapping, allowed: Iterable[str]) -> None:
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise InventoryError("unknown_field", f"unknown field(s): {', '.join(unknown)}", unknown[0])


# ---- sites ---------------------------------------------------------------------------------

def _validate_site(data: Mapping) -> dict:
    _reject_unknown(data, SITE_FIELDS)
    slug = _text(data, "slug", limit=63)
    if not _SLUG.match(slug):
        raise InventoryError("invalid_field",
                             "slug must be lower-case letters, digits and hyphens", "slug")
    kind = _text(data, "kind")
    if kind not in SITE_KINDS:
        raise InventoryError("invalid_field", f"kind must be one of {', '.join(SITE_KINDS)}",
                             "kind")
    lat, lon = _location(data)
    return {"slug": slug, "name_ar": _text(data, "name_ar"), "name_en": _text(data, "name_en"),
            "kind": kind, "lat": lat, "lon": lon}


def add_site(store: Store, data: Mapping, actor: str) -> dict:
    row = _validate_site(data)
    when = now()
    with store.transaction() as conn:
        if conn.execute("SELECT 1 FROM sites WHERE slug = ?", (row["slug"],)).fetchone():
            raise InventoryError("duplicate", f"a site with slug {row['slug']!r} exists", "slug")
        cur = conn.execute(
            "INSERT INTO sites (slug, name_ar, name_en, kind, lat, lon, created_at, updated_at) "
            "VALUES (:slug, :name_ar, :name_en, :kind, :lat, :lon, :now, :now)",
            {**row, "now": when})
        audit.record(conn, actor, "site.create", "site", row["slug"], row)
    return get_site(store, cur.lastrowid)


def update_site(store: Store, ref: object, changes: Mapping, actor: str) -> dict:
    current = get_site(store, ref)
    merged = {k: current[k] for k in SITE_FIELDS} | dict(changes)
    row = _validate_site(merged)
    with store.transaction() as conn:
        clash = conn.execute("SELECT id FROM sites WHERE slug = ? AND id != ?",
                             (row["slug"], current["id"])).fetchone()
        if clash:
            raise InventoryError("duplicate", f"a site with slug {row['slug']!r} exists", "slug")
        conn.execute("UPDATE sites SET slug=:slug, name_ar=:name_ar, name_en=:name_en, kind=:kind, "
                     "lat=:lat, lon=:lon, updated_at=:now WHERE id=:id",
                     {**row, "now": now(), "id": current["id"]})
        audit.record(conn, actor, "site.update", "site", row["slug"],
                     {k: row[k] for k in changes if k in row})
    return get_site(store, current["id"])


def remove_site(store: Store, ref: object, actor: str) -> None:
    site = get_site(store, ref)
    with store.transaction() as conn:
        count = conn.execute("SELECT count(*) FROM aps WHERE site_id = ?", (site["id"],)).fetchone()[0]
        if count:
            raise InventoryError("in_use", f"site {site['slug']!r} still has {count} AP(s)", "site")
        conn.execute("DELETE FROM sites WHERE id = ?", (site["id"],))
        audit.record(conn, actor, "site.delete", "site", site["slug"], None)


def row_id(ref: object) -> int | None:
    """``ref`` as a row id when it is one (an int, or ASCII digits); None when it is a name.

    An id the store cannot hold (beyond 64 bits) is -1, which no row has: looking it up is a
    plain "not found", not an overflow in the driver.
    """
    if isinstance(ref, bool):
        return None
    if isinstance(ref, int):
        number = ref
    else:
        text = str(ref).strip()
        if not (text.isascii() and text.isdigit()):
            return None
        number = int(text) if len(text) <= 19 else -1
    return number if 0 <= number < 2 ** 63 else -1


def get_site(store: Store, ref: object) -> dict:
    """A site by id (int or digits) or slug."""
    found = row_id(ref)
    column, arg = ("id", found) if found is not None else ("slug", ref)
    rows = list(store.db.query(f"SELECT * FROM sites WHERE {column} = ?", [arg]))
    if not rows:
        raise NotFound("site", ref)
    return rows[0]


def list_sites(store: Store) -> list[dict]:
    return list(store.db.query(
        "SELECT s.*, (SELECT count(*) FROM aps a WHERE a.site_id = s.id) AS ap_count "
        "FROM sites s ORDER BY s.slug"))


# ---- access points ---------------------------------------------------------------------------

@dataclass
class _ApRow:
    """A validated AP, secrets still in plaintext (encrypted when written)."""
    values: dict


#: Entry-point group naming the device platforms installed (``<name> = "<module>:PLATFORM"``);
#: netconfig's dispatch table holds the drivers, the inventory only checks the name.
PLATFORMS_GROUP = "oasis.platforms"


def _location(data: Mapping) -> tuple[float | None, float | None]:
    """A site's or an AP's position in degrees: both or neither."""
    lat = _number(data, "lat", float, -90, 90)
    lon = _number(data, "lon", float, -180, 180)
    if (lat is None) != (lon is None):
        raise InventoryError("invalid_field", "give both lat and lon, or neither",
                             "lat" if lat is None else "lon")
    return lat, lon  # type: ignore[return-value]  # _number returns the kind asked for


@functools.cache
def supported_platforms() -> frozenset[str]:
    return frozenset(ep.name for ep in entry_points(group=PLATFORMS_GROUP))


class InventoryProblems(InventoryError):
    """Every problem found in one input, so a form or an import row shows them all at once.

    It is the first problem too (its code, message and field), for callers that show one."""

    def __init__(self, problems: list[InventoryError]):
        first = problems[0]
        super().__init__(first.code, first.message, first.field)
        self.problems = problems


def problems_of(exc: InventoryError) -> list[InventoryError]:
    """The problems a refusal carries: all of an `InventoryProblems`, else itself."""
    return list(exc.problems) if isinstance(exc, InventoryProblems) else [exc]


class _Problems:
    """Checks one input field after field, keeping each refusal instead of stopping at it."""

    def __init__(self) -> None:
        self.found: list[InventoryError] = []

    def check(self, parse: Callable[..., Any], *args: Any, default: Any = None,
              **kwargs: Any) -> Any:
        try:
            return parse(*args, **kwargs)
        except InventoryError as exc:
            self.found.append(exc)
            return default

    def raise_any(self) -> None:
        if len(self.found) == 1:
            raise self.found[0]
        if self.found:
            raise InventoryProblems(self.found)


def _ap_name(data: Mapping) -> str:
    name = _text(data, "name", limit=64)
    if not _NAME.match(name):
        raise InventoryError("invalid_field",
                             "name must be letters, digits, '.', '_' or '-' (max 64)", "name")
    return name


def _ap_platform(data: Mapping) -> str:
    platform = _text(data, "platform", required=False) or "openwrt"
    if platform not in supported_platforms():
        raise InventoryError("unknown_platform", f"unknown platform {platform!r}; supported: "
                             f"{', '.join(sorted(supported_platforms()))}", "platform")
    return platform


def _ap_site(store: Store, data: Mapping, site_ids: Mapping[str, int] | None) -> int:
    site_ref = data.get("site")
    if site_ref in (None, ""):
        raise InventoryError("missing_field", "site is required", "site")
    if site_ids is not None and str(site_ref) in site_ids:
        return site_ids[str(site_ref)]
    try:
        return get_site(store, site_ref)["id"]
    except NotFound:
        raise InventoryError("unknown_site", f"site {site_ref!r} does not exist", "site") from None


def _snmp_version(data: Mapping) -> str:
    version = str(data.get("snmp_version") or "2c").lower().removeprefix("v")
    if version not in ("2c", "3"):
        raise InventoryError("invalid_field", "snmp_version must be 2c or 3", "snmp_version")
    return version


def _choice(data: Mapping, field: str, default: str, allowed: tuple[str, ...]) -> str:
    value = (_text(data, field, required=False) or default).upper()
    if value not in allowed:
        raise InventoryError("invalid_field", f"{field} must be one of {', '.join(allowed)}",
                             field)
    return value


def _pass_phrase(data: Mapping, field: str) -> str:
    secret = _text(data, field, limit=128)
    if len(secret) < 8:  # RFC 3414: pass phrases shorter than 8 octets are refused
        raise InventoryError("invalid_field", f"{field} must be at least 8 characters", field)
    return secret


def _snmp_context(data: Mapping) -> str:
    context = _text(data, "snmp_context", required=False, limit=32) or ""
    if len(context.encode()) > 32:
        raise InventoryError("invalid_field", "snmp_context must be at most 32 octets in "
                             "UTF-8", "snmp_context")
    return context


def _validate_ap(store: Store, data: Mapping, *, site_ids: Mapping[str, int] | None = None) -> _ApRow:
    """The AP ``data`` describes, checked field by field: every problem is reported at once
    (`InventoryProblems` when there are several)."""
    _reject_unknown(data, AP_FIELDS)
    problems = _Problems()
    check = problems.check
    version = check(_snmp_version, data, default="2c")
    lat, lon = check(_location, data, default=(None, None))
    values = {
        "name": check(_ap_name, data), "mac": check(normalise_mac, data.get("mac")),
        "mgmt_ip": check(normalise_ip, data.get("mgmt_ip")),
        "platform": check(_ap_platform, data), "site_id": check(_ap_site, store, data, site_ids),
        "lat": lat, "lon": lon,
        "capacity": check(_number, data, "capacity", int, 1, 10000),
        "snmp_version": version, "snmp_port": check(_number, data, "snmp_port", int, 1, 65535, 161),
        "ssh_port": check(_number, data, "ssh_port", int, 1, 65535, 22),
        "ssh_username": check(_text, data, "ssh_username", required=False, limit=64),
        "ssh_password": check(_text, data, "ssh_password", required=False, limit=128),
        "snmp_community": None, "snmp_user": None, "snmp_auth_proto": None, "snmp_auth_key": None,
        "snmp_priv_proto": None, "snmp_priv_key": None, "snmp_context": None,
        "snmp_engine_id": None,
    }
    if version == "2c":
        values["snmp_community"] = check(_text, data, "snmp_community", required=False,
                                         limit=64) or "public"
    else:
        values["snmp_user"] = check(_text, data, "snmp_user", limit=32)
        values["snmp_auth_proto"] = check(_choice, data, "snmp_auth_proto", "SHA", AUTH_PROTOS)
        values["snmp_priv_proto"] = check(_choice, data, "snmp_priv_proto", "AES", PRIV_PROTOS)
        for key in ("snmp_auth_key", "snmp_priv_key"):
            values[key] = check(_pass_phrase, data, key)
        values["snmp_context"] = check(_snmp_context, data, default="")
        values["snmp_engine_id"] = check(_engine_id, data.get("snmp_engine_id"))
    problems.raise_any()
    return _ApRow(values)


def _engine_id(value: object) -> str | None:
    """An snmpEngineID as lower-case hex: 5 to 32 octets, given as hex with or without ``0x``
    and ``:`` or spaces between octets (as agents and net-snmp print it). Blank: none."""
    text = str(value or "").strip().lower().removeprefix("0x").replace(":", "").replace(" ", "")
    if not text:
        return None
    if not re.fullmatch(r"[0-9a-f]{10,64}", text) or len(text) % 2:
        raise InventoryError("invalid_field", "snmp_engine_id must be 5 to 32 octets in hex "
                             "(e.g. 80001f8803024f45000001)", "snmp_engine_id")
    return text


def _check_unique(conn: sqlite3.Connection, values: Mapping, exclude_id: int | None = None) -> None:
    for field, label in (("name", "name"), ("mac", "MAC"), ("mgmt_ip", "management IP")):
        hit = conn.execute(f"SELECT name FROM aps WHERE {field} = ? AND id IS NOT ?",
                           (values[field], exclude_id)).fetchone()
        if hit:
            raise InventoryError("duplicate",
                                 f"{label} {values[field]} is already used by AP {hit[0]}", field)


def _encrypted(values: Mapping, box: SecretBox) -> dict:
    row = {k: v for k, v in values.items() if k not in SECRET_FIELDS}
    for field in SECRET_FIELDS:
        row[f"{field}_enc"] = box.encrypt(values[field])
    return row


def _insert_ap(conn: sqlite3.Connection, values: Mapping, box: SecretBox, actor: str) -> int:
    when = now()
    row = _encrypted(values, box) | {"created_at": when, "updated_at": when}
    columns = ", ".join(row)
    cur = conn.execute(f"INSERT INTO aps ({columns}) VALUES ({', '.join(':' + c for c in row)})", row)
    audit.record(conn, actor, "ap.create", "ap", values["name"], redact(values))
    assert cur.lastrowid is not None  # set by every INSERT
    return cur.lastrowid


def redact(values: Mapping) -> dict:
    """A copy safe for logs and the audit log: secrets replaced by whether they are set."""
    out = {k: v for k, v in values.items() if k not in SECRET_FIELDS and not k.endswith("_enc")}
    for field in SECRET_FIELDS:
        if field in values or f"{field}_enc" in values:
            out[f"{field}_set"] = bool(values.get(field) or values.get(f"{field}_enc"))
    return out


def add_ap(store: Store, box: SecretBox, data: Mapping, actor: str) -> dict:
    ap = _validate_ap(store, data)
    with store.transaction() as conn:
        _check_unique(conn, ap.values)
        ap_id = _insert_ap(conn, ap.values, box, actor)
    return get_ap(store, ap_id)


def update_ap(store: Store, box: SecretBox, ref: object, changes: Mapping, actor: str) -> dict:
    """Change some fields; secrets left out of ``changes`` keep their stored value."""
    current = _ap_row(store, ref)
    merged = {k: current[k] for k in AP_FIELDS if k in current and k != "site"}
    merged["site"] = current["site_id"]
    for field in SECRET_FIELDS:
        merged[field] = box.decrypt(current[f"{field}_enc"])
    if "snmp_version" in changes and str(changes["snmp_version"]).lstrip("v") != current["snmp_version"]:
        for field in ("snmp_community", *V3_FIELDS):
            merged.pop(field, None)
    merged.update(changes)
    merged = {k: v for k, v in merged.items() if v is not None}
    ap = _validate_ap(store, merged)
    with store.transaction() as conn:
        _check_unique(conn, ap.values, exclude_id=current["id"])
        row = _encrypted(ap.values, box) | {"updated_at": now(), "id": current["id"]}
        assignments = ", ".join(f"{c} = :{c}" for c in row if c != "id")
        conn.execute(f"UPDATE aps SET {assignments} WHERE id = :id", row)
        audit.record(conn, actor, "ap.update", "ap", ap.values["name"],
                     redact({k: ap.values.get(k) for k in changes if k in ap.values or k in SECRET_FIELDS}))
    return get_ap(store, current["id"])


def remove_ap(store: Store, ref: object, actor: str) -> dict:
    ap = get_ap(store, ref)
    with store.transaction() as conn:
        conn.execute("DELETE FROM aps WHERE id = ?", (ap["id"],))
        audit.record(conn, actor, "ap.delete", "ap", ap["name"], {"mac": ap["mac"],
                                                                   "mgmt_ip": ap["mgmt_ip"]})
    return ap


def _ap_row(store: Store, ref: object) -> dict:
    """The stored row (with encrypted columns) by id, name, MAC or management IP."""
    text = str(ref).strip()
    arg: int | str
    found = row_id(ref)
    if found is not None:
        clause, arg = "a.id = ?", found
    else:
        clause, arg = "a.name = ?", text
        try:
            clause, arg = "a.mac = ?", normalise_mac(text)
        except InventoryError:
            try:
                clause, arg = "a.mgmt_ip = ?", str(ipaddress.ip_address(text))
            except ValueError:
                pass
    rows = list(store.db.query(
        "SELECT a.*, s.slug AS site, s.name_en AS site_name_en, s.name_ar AS site_name_ar "
        f"FROM aps a JOIN sites s ON s.id = a.site_id WHERE {clause}", [arg]))
    if not rows:
        raise NotFound("AP", ref)
    return rows[0]


def get_ap(store: Store, ref: object) -> dict:
    return redact(_ap_row(store, ref))


def list_aps(store: Store, site: object = None) -> list[dict]:
    sql = ("SELECT a.*, s.slug AS site, s.name_en AS site_name_en, s.name_ar AS site_name_ar "
           "FROM aps a JOIN sites s ON s.id = a.site_id")
    args: list = []
    if site not in (None, ""):
        sql += " WHERE s.id = ?"
        args.append(get_site(store, site)["id"])
    return [redact(r) for r in store.db.query(sql + " ORDER BY a.name", args)]


def ap_secrets(store: Store, box: SecretBox, ref: object) -> dict:
    """Decrypted credentials for device I/O (the poller, SSH); never for display."""
    row = _ap_row(store, ref)
    return {field: box.decrypt(row[f"{field}_enc"]) for field in SECRET_FIELDS}


# ---- lookups for the other domains (monitoring, adoption, the portal's reports) --------------

#: The columns of sites and APs that hold times (unix seconds).
TIME_COLUMNS = ("created_at", "updated_at")


def shown(row: Mapping) -> dict:
    """A site or AP as the API and CLI show it: its times as ISO-8601 text."""
    return with_iso(row, *TIME_COLUMNS)


def site_by_slug(store: Store, slug: str, kind: str | None = None) -> dict | None:
    """The site with this slug (and of this kind, if given), or None."""
    rows = list(store.db.query("SELECT * FROM sites WHERE slug = ? AND kind = coalesce(?, kind)",
                               [slug, kind]))
    return rows[0] if rows else None


def aps_to_poll(store: Store) -> list[dict]:
    """Every AP with what SNMP polling needs, secrets still encrypted, by id."""
    return list(store.db.query(
        "SELECT id, name, mgmt_ip, platform, snmp_version, snmp_port, snmp_community_enc,"
        " snmp_user, snmp_auth_proto, snmp_auth_key_enc, snmp_priv_proto, snmp_priv_key_enc,"
        " snmp_context, snmp_engine_id FROM aps ORDER BY id"))


def fingerprint(store: Store) -> tuple:
    """Changes whenever an AP is added, removed or changed: cheap to ask every poll cycle."""
    return tuple(store.conn.execute(
        "SELECT count(*), coalesce(sum(id), 0), max(updated_at) FROM aps").fetchone())


def ap_ids_by_address(store: Store) -> dict[str, int]:
    """Management IP -> AP id."""
    return dict(store.conn.execute("SELECT mgmt_ip, id FROM aps"))


def names_and_capacities(conn: sqlite3.Connection) -> dict[int, tuple[str, int | None]]:
    """AP id -> (name, capacity), inside the caller's transaction."""
    return {ap_id: (name, capacity) for ap_id, name, capacity in
            conn.execute("SELECT id, name, capacity FROM aps")}


def ap_sites(conn: sqlite3.Connection) -> dict[int, int]:
    """AP id -> site id for every AP: what per-cycle code needs of the whole fleet, without
    building each AP's row (`list_aps` took seconds for 20,000 APs)."""
    return dict(conn.execute("SELECT id, site_id FROM aps").fetchall())


def ap_name(conn: sqlite3.Connection, ap_id: int) -> str | None:
    """The AP's name, inside the caller's transaction; None if it is gone."""
    row = conn.execute("SELECT name FROM aps WHERE id = ?", (ap_id,)).fetchone()
    return row[0] if row else None


def ap_known(conn: sqlite3.Connection, mac: str | None, mgmt_ip: str | None) -> bool:
    """Whether an AP of the inventory has this MAC or this management address."""
    return conn.execute("SELECT 1 FROM aps WHERE mac = ? OR mgmt_ip = ?",
                        (mac, mgmt_ip)).fetchone() is not None


def ap_and_site(conn: sqlite3.Connection, *, mac: str | None = None,
                name: str | None = None) -> tuple[str, str] | None:
    """(AP name, site slug) of the AP with this MAC (normalised) or else this name."""
    clause, arg = ("a.mac = ?", mac) if mac is not None else ("a.name = ?", name)
    row = conn.execute("SELECT a.name, s.slug FROM aps a JOIN sites s ON s.id = a.site_id "
                       f"WHERE {clause}", (arg,)).fetchone()
    return (row[0], row[1]) if row else None


# ---- bulk import ----------------------------------------------------------------------------

@dataclass
class ImportResult:
    created: list[str]
    errors: list[dict]  # {"row": n, "code", "message", "field"}


def import_aps(store: Store, box: SecretBox, rows: Iterable[Mapping], actor: str,
               progress: Callable[[int], None] | None = None) -> ImportResult:
    """All or nothing: every row is validated (with duplicates inside the file and against the
    store); if any row is bad, nothing is written and every error is reported with its row."""
    rows = list(rows)
    site_ids = {s["slug"]: s["id"] for s in list_sites(store)}
    site_ids |= {str(v): v for v in site_ids.values()}
    valid: list[_ApRow] = []
    errors: list[dict] = []
    seen: dict[tuple[str, str], int] = {}
    with store.transaction() as conn:
        for number, data in enumerate(rows, start=1):
            try:
                ap = _validate_ap(store, {k: v for k, v in data.items() if v not in (None, "")},
                                  site_ids=site_ids)
                for field in ("name", "mac", "mgmt_ip"):
                    first = seen.setdefault((field, ap.values[field]), number)
                    if first != number:
                        raise InventoryError("duplicate", f"{field} {ap.values[field]} repeats "
                                             f"row {first}", field)
                _check_unique(conn, ap.values)
                valid.append(ap)
            except InventoryError as exc:
                errors += [{"row": number, **problem.as_dict()} for problem in problems_of(exc)]
            if progress:
                progress(1)
        if errors:
            return ImportResult([], errors)  # nothing was written
        for ap in valid:
            _insert_ap(conn, ap.values, box, actor)
    return ImportResult([ap.values["name"] for ap in valid], [])
