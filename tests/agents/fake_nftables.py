"""`FakeNftables`: the gateway's kernel sets without root, for the enforcer tests that cannot
create a namespace (test_gateway_nft.py and the lab run the real nftables)."""

from __future__ import annotations

import re

from agents.gateway.nft import NftError, parse_counted_elements


class FakeNftables:
    """Stands in for the kernel's sets: applies element adds/deletes from scripts, lists them
    with counters the test sets. Chains and rules are only recorded."""

    _ELEMENT = re.compile(r"^(add|delete) element inet \S+ (\S+) \{ (.+?)(?: timeout (\d+)ms)? \}$")

    def __init__(self):
        self.sets: dict[str, dict[str, int]] = {}
        self.scripts: list[str] = []

    def run(self, script: str) -> str:
        changes = []
        for line in script.splitlines():
            match = self._ELEMENT.match(line)
            if match:
                op, name, key, _ = match.groups()
                if op == "delete" and key not in self.sets.get(name, {}):
                    raise NftError(f"no element {key} in {name}")
                changes.append((op, name, key))
        for op, name, key in changes:
            if op == "add":
                self.sets.setdefault(name, {}).setdefault(key, 0)
            else:
                del self.sets[name][key]
        self.scripts.append(script)
        return ""

    def list_set(self, family, table, name):
        elements = ", ".join(f"{key} counter packets 1 bytes {count}"
                             for key, count in self.sets.get(name, {}).items())
        return f"table inet {table} {{ set {name} {{ elements = {{ {elements} }} }} }}"

    def counted_elements(self, family, table, name):
        return parse_counted_elements(self.list_set(family, table, name))

    def table_exists(self, family, table):
        return True
