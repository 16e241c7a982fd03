"""Template variables in layers: global -> site -> AP group -> AP (later layers win).

Each layer is one JSON object. Merging is by key; tables (dicts) merge recursively, so a site can
change ``radios.5g.channel`` without restating the 2.4 GHz radio; anything else, lists included,
is replaced whole (an AP that lists ``ssids`` states all of its SSIDs). A few values come from the
inventory and sit under every layer: ``hostname`` (the AP name), ``ap_name``, ``site``, ``mgmt_ip``.

Passphrases are encrypted in the store ({"$enc": token}) and decrypted only to render.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import cast

from core import audit, inventory
from core.inventory import InventoryError, NotFound
from core.secrets import SecretBox
from core.store import Store, now
from netconfig.render import SECRET_KEYS, redact_variables

SCOPES = ("global", "site", "group", "ap")


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
