"""reporting's catalogue: every message marked in reporting (labels of every area, the pages,
the PDF, the e-mails) has an Arabic translation with the same placeholders."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2] / "reporting"
_PLACEHOLDER = re.compile(r"%\((\w+)\)[sd0-9.]*[sd]|%[sd]")


def extracted() -> dict[str, tuple[str, int]]:
    found: dict[str, tuple[str, int]] = {}
    for filename, lineno, message, _c, _x in extract_from_dir(
            str(ROOT), method_map=[("**/templates/**.html", "jinja2"), ("**.py", "python")],
            keywords={"_": None, "N_": None}):
        if message:
            found.setdefault(message, (filename, lineno))
    return found


def test_every_marked_message_has_its_arabic():
    with (ROOT / "translations" / "ar" / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalogue = {m.id: m.string for m in read_po(fh, locale="ar") if m.id and not m.fuzzy}
    found = extracted()
    assert len(found) > 150
    missing = sorted(f"{where[0]}:{where[1]}: {msgid!r}" for msgid, where in found.items()
                     if not catalogue.get(msgid))
    assert not missing, "\n".join(missing)
    wrong = [msgid for msgid in found if sorted(_PLACEHOLDER.findall(catalogue[msgid]))
             != sorted(_PLACEHOLDER.findall(msgid))]
    assert not wrong
