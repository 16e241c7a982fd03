"""Template variables in layers: global -> site -> AP group -> AP (later layers win).

Each layer is one JSON object. Merging is by key; tables (dicts) merge recursively, so a site can
change ``radios.5g.channel`` without restating the 2.4 GHz radio; anything else, lists included,
is replaced whole (an AP that lists ``ssids`` states all of its SSIDs). A few values come from the
inventory and sit under every layer: ``hostname`` (the AP name), ``ap_name``, ``site``, ``mgmt_ip``.

Passphrases are encrypted in the store ({"$enc": token}) and decrypted only to render.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import cast

from core import audit, inventory
from core.inventory import InventoryError, NotFound
from core.secrets import SecretBox
from core.store import Store, now
from netconfig import validate
from netconfig.platforms import get_platform
from netconfig.render import SECRET_KEYS, NotProvisionable, redact_variables
from netconfig.render import problems as render_problems

SCOPES = ("global", "site", "group", "ap")
#: What `redact_variables` shows instead of a passphrase; never stored as one.
MASK = "********"


def merge(base: Mapping, overlay: Mapping) -> dict:
    out = dict(base)
    for key, value in overlay.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def _seal(value: object, box: SecretBox) -> object:
    if isinstance(value, Mapping):
        return {k: ({"$enc": box.encrypt(str(v))} if k in SECRET_KEYS and isinstance(v, str)
                    else _seal(v, box)) for k, v in value.items()}
    if isinstance(value, list):
        return [_seal(v, box) for v in value]
    return value


def _open(value: object, box: SecretBox) -> object:
    if isinstance(value, Mapping):
        if set(value) == {"$enc"}:
            return box.decrypt(value["$enc"])
        return {k: _open(v, box) for k, v in value.items()}
    if isinstance(value, list):
        return [_open(v, box) for v in value]
    return value


def _open_layer(data: str, box: SecretBox) -> dict:
    """A stored layer's variables: a JSON object (``_seal`` keeps a mapping a mapping)."""
    return cast(dict, _open(json.loads(data), box))


def _scope_id(store: Store, scope: str, ref: object) -> int:
    if scope not in SCOPES:
        raise InventoryError("invalid_field", f"scope must be one of {', '.join(SCOPES)}", "scope")
    if scope == "global":
        return 0
    if scope == "site":
        return inventory.get_site(store, ref)["id"]
    if scope == "ap":
        return inventory.get_ap(store, ref)["id"]
    return get_group(store, ref)["id"]


def set_layer(store: Store, box: SecretBox, scope: str, ref: object, data: Mapping,
              actor: str) -> None:
    """Replace one layer's variables (an empty mapping removes the layer)."""
    if not isinstance(data, Mapping):
        raise InventoryError("invalid_field", "variables must be a JSON object", "data")
    scope_id = _scope_id(store, scope, ref)
    with store.transaction() as conn:
        if data:
            conn.execute(
                "INSERT INTO config_variables (scope, scope_id, data, updated_at, updated_by) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (scope, scope_id) DO UPDATE SET "
                "data = excluded.data, updated_at = excluded.updated_at, "
                "updated_by = excluded.updated_by",
                (scope, scope_id, json.dumps(_seal(data, box), ensure_ascii=False), now(),
                 actor))
        else:
            conn.execute("DELETE FROM config_variables WHERE scope = ? AND scope_id = ?",
                         (scope, scope_id))
        audit.record(conn, actor, "config.variables", scope, ref if scope != "global" else "global",
                     redact_variables(dict(data)))


def refuse_masked(value: object, path: str = "") -> None:
    """A passphrase sent back as the mask would silently become the password "********"."""
    if isinstance(value, Mapping):
        for key, inner in value.items():
            where = f"{path}.{key}" if path else str(key)
            if key in SECRET_KEYS and inner == MASK:
                raise InventoryError("masked_secret", "this is the masked value; send the "
                                     "passphrase itself (or leave the entry out)", where)
            refuse_masked(inner, where)
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            refuse_masked(inner, f"{path}[{index}]")


def _affected(store: Store, scope: str, ref: object) -> list[dict]:
    if scope == "global":
        return inventory.list_aps(store)
    if scope == "site":
        return inventory.list_aps(store, ref)
    if scope == "group":
        return group_members(store, ref)
    if scope == "ap":
        return [inventory.get_ap(store, ref)]
    raise InventoryError("invalid_field", f"scope must be one of {', '.join(SCOPES)}", "scope")


def _top_key(field: str) -> str:
    return re.split(r"[.\[]", field, maxsplit=1)[0]


def layer_problems(store: Store, box: SecretBox, scope: str, ref: object,
                   data: Mapping) -> list[validate.Problem]:
    """What ``data`` as the new ``scope`` layer would break, checked on every AP it applies to.

    Only problems under keys this layer sets count: a site layer that sets the radios is not
    refused because no layer defines an SSID yet. With no AP under the layer yet, it is checked
    over the global layer alone.
    """
    touched = set(data)
    candidates: list[tuple[str | None, dict]] = []
    for ap in _affected(store, scope, ref):
        existing = dict(layers_for(store, box, ap)) | {scope: data}
        merged: dict = {"hostname": ap["name"], "ap_name": ap["name"], "site": ap["site"],
                        "mgmt_ip": ap["mgmt_ip"]}
        for name in SCOPES:
            merged = merge(merged, existing.get(name, {}))
        candidates.append((ap["platform"], merged))
    if not candidates:
        base = get_layer(store, box, "global", None) if scope != "global" else {}
        candidates.append((None, merge(base, data)))
    found: list[validate.Problem] = []
    for platform, merged in candidates:
        try:
            problems = (render_problems(get_platform(platform), merged) if platform
                        else validate.problems(merged))
        except NotProvisionable:
            continue
        found += [p for p in problems if _top_key(p.field) in touched and p not in found]
    return found


def check_layer(store: Store, box: SecretBox, scope: str, ref: object, data: object) -> None:
    """Refuse a layer the way every way in must (CLI, API, pages): `InventoryError` for a body
    that is not an object or carries the mask as a passphrase, `validate.ValidationFailed` with
    every problem it would cause on the APs under it."""
    if not isinstance(data, Mapping):
        raise InventoryError("invalid_body", "variables must be a JSON object", None)
    refuse_masked(data)
    found = layer_problems(store, box, scope, ref, data)
    if found:
        raise validate.ValidationFailed(found)


def get_layer(store: Store, box: SecretBox, scope: str, ref: object) -> dict:
    scope_id = _scope_id(store, scope, ref)
    row = store.conn.execute("SELECT data FROM config_variables WHERE scope = ? AND scope_id = ?",
                             (scope, scope_id)).fetchone()
    return _open_layer(row[0], box) if row else {}


def layers_for(store: Store, box: SecretBox, ap: Mapping) -> list[tuple[str, dict]]:
    """The layers that apply to ``ap`` (a row from inventory.get_ap), lowest first."""
    group = store.conn.execute("SELECT group_id FROM ap_group_members WHERE ap_id = ?",
                               (ap["id"],)).fetchone()
    wanted = [("global", 0), ("site", ap["site_id"])]
    if group:
        wanted.append(("group", group[0]))
    wanted.append(("ap", ap["id"]))
    layers = []
    for scope, scope_id in wanted:
        row = store.conn.execute("SELECT data FROM config_variables WHERE scope = ? AND "
                                 "scope_id = ?", (scope, scope_id)).fetchone()
        if row:
            layers.append((scope, _open_layer(row[0], box)))
    return layers


def effective(store: Store, box: SecretBox, ap: Mapping) -> dict:
    """The merged variables a template sees for ``ap``."""
    result: dict = {"hostname": ap["name"], "ap_name": ap["name"], "site": ap["site"],
                    "mgmt_ip": ap["mgmt_ip"]}
    for _, layer in layers_for(store, box, ap):
        result = merge(result, layer)
    return result


# ---- groups ------------------------------------------------------------------------------------

def create_group(store: Store, name: str, actor: str) -> dict:
    name = (name or "").strip()
    if not inventory._NAME.match(name):
        raise InventoryError("invalid_field", "group name: letters, digits, '.', '_', '-'", "name")
    with store.transaction() as conn:
        if conn.execute("SELECT 1 FROM ap_groups WHERE name = ?", (name,)).fetchone():
            raise InventoryError("duplicate", f"group {name!r} exists", "name")
        conn.execute("INSERT INTO ap_groups (name, created_at) VALUES (?, ?)", (name, now()))
        audit.record(conn, actor, "group.create", "group", name, None)
    return get_group(store, name)


def get_group(store: Store, ref: object) -> dict:
    column = "id" if isinstance(ref, int) or str(ref).isdigit() else "name"
    rows = list(store.db.query(f"SELECT * FROM ap_groups WHERE {column} = ?", [ref]))
    if not rows:
        raise NotFound("group", ref)
    return rows[0]


def set_group(store: Store, ap_ref: object, group_ref: object | None, actor: str) -> None:
    """Put an AP in a group (None: in no group)."""
    ap = inventory.get_ap(store, ap_ref)
    group = get_group(store, group_ref) if group_ref is not None else None
    with store.transaction() as conn:
        conn.execute("DELETE FROM ap_group_members WHERE ap_id = ?", (ap["id"],))
        if group:
            conn.execute("INSERT INTO ap_group_members (ap_id, group_id) VALUES (?, ?)",
                         (ap["id"], group["id"]))
        audit.record(conn, actor, "group.member", "ap", ap["name"],
                     {"group": group["name"] if group else None})


def group_name_of(store: Store, ap_id: int) -> str | None:
    """The name of the group the AP is in; None when it is in none."""
    row = store.conn.execute("SELECT g.name FROM ap_groups g JOIN ap_group_members m ON "
                             "m.group_id = g.id WHERE m.ap_id = ?", (ap_id,)).fetchone()
    return row[0] if row else None


def group_members(store: Store, ref: object) -> list[dict]:
    group = get_group(store, ref)
    ids = [r[0] for r in store.conn.execute(
        "SELECT ap_id FROM ap_group_members WHERE group_id = ? ORDER BY ap_id", (group["id"],))]
    return [inventory.get_ap(store, i) for i in ids]
