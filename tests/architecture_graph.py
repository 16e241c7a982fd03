"""The picture of the layers in docs/architecture.md, made from the code (not a test module).

Finds which top-level package imports which (grimp, the graph behind import-linter) and writes
that as a Mermaid diagram between the markers in docs/architecture.md; ``--counts`` prints the
import statements between packages.
tests/test_architecture.py fails when the picture is stale; refresh it with
``.venv/bin/python -m tests.architecture_graph --write``.
"""

from __future__ import annotations

import argparse
import collections
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "architecture.md"
PACKAGES = ("controller", "reporting", "captive_portal", "netconfig", "agents", "core")
BEGIN, END = "<!-- import-graph: begin -->", "<!-- import-graph: end -->"


def package_imports() -> dict[tuple[str, str], int]:
    """(importer package, imported package) -> import statements, for every pair that has any."""
    graph = grimp.build_graph(*PACKAGES)
    counts: collections.Counter[tuple[str, str]] = collections.Counter()
    for importer in graph.modules:
        for imported in graph.find_modules_directly_imported_by(importer):
            pair = (importer.split(".")[0], imported.split(".")[0])
            if pair[0] != pair[1]:
                details = graph.get_import_details(importer=importer, imported=imported)
                counts[pair] += len({d["line_number"] for d in details}) or 1
    return dict(sorted(counts.items()))


def mermaid() -> str:
    lines = ["```mermaid", "flowchart TD"]
    lines += [f"    {p}[{p}]" for p in PACKAGES]
    # Edges only: the counts change with every import and would make the picture stale on
    # every change; `package_imports()` (and ``--counts``) gives them.
    lines += [f"    {a} --> {b}" for a, b in package_imports()]
    lines.append("```")
    return "\n".join(lines)


def rendered(doc: str) -> str:
    """``doc`` with the block between the markers replaced by the current picture."""
    head, _, rest = doc.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return f"{head}{BEGIN}\n{mermaid()}\n{END}{tail}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="update docs/architecture.md")
    parser.add_argument("--counts", action="store_true",
                        help="print the import statements between packages")
    args = parser.parse_args()
    if args.counts:
        for (importer, imported), count in package_imports().items():
            print(f"{importer} -> {imported}: {count}")
    elif args.write:
        DOC.write_text(rendered(DOC.read_text(encoding="utf-8")), encoding="utf-8")
    else:
        print(mermaid())


if __name__ == "__main__":
    main()
