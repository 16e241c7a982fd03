"""The category catalogue (Open311 services): names in both languages, default priority, SLA
hours and the team responsible. Seeded by migration 0030 with the municipality's categories;
`save_category` adds or changes one (``oasis reports category``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from captive_portal.reports.priority import PRIORITIES
from core.store import Store

_COLUMNS = ("code", "name_ar", "name_en", "description_ar", "description_en", "grp", "keywords",
            "default_priority", "sla_hours", "team", "active", "sort_order")


@dataclass(frozen=True)
class Category:
    code: str
    name_ar: str
    name_en: str
    description_ar: str
    description_en: str
    grp: str
    keywords: str
    default_priority: str
    sla_hours: int
    team: str
    active: int
    sort_order: int

    def name(self, locale: str) -> str:
        return self.name_ar if locale == "ar" else self.name_en

    def description(self, locale: str) -> str:
        return self.description_ar if locale == "ar" else self.description_en


class CategoryError(ValueError):
    pass


def list_categories(store: Store, *, include_inactive: bool = False) -> list[Category]:
    where = "" if include_inactive else "WHERE active = 1"
    rows = store.conn.execute(
        f"SELECT {', '.join(_COLUMNS)} FROM report_categories {where} ORDER BY sort_order, code")
    return [Category(*row) for row in rows]


def get_category(store: Store, code: str, *, include_inactive: bool = False) -> Category | None:
    row = store.conn.execute(
        f"SELECT {', '.join(_COLUMNS)} FROM report_categories WHERE code = ?",
        (code,)).fetchone()
    category = Category(*row) if row else None
    if category and not category.active and not include_inactive:
        return None
    return category


def save_category(store: Store, category: Category) -> None:
    """Insert or replace one category after checking its values."""
    if not category.code or not category.code.replace("_", "").replace("-", "").isalnum():
        raise CategoryError("code: letters, digits, - and _ only")
    if category.default_priority not in PRIORITIES:
        raise CategoryError(f"default_priority: one of {', '.join(PRIORITIES)}")
    if category.sla_hours <= 0:
        raise CategoryError("sla_hours: must be positive")
    if not category.name_ar or not category.name_en or not category.team:
        raise CategoryError("name_ar, name_en and team are required")
    values = asdict(category)
    with store.transaction() as conn:
        conn.execute(
            f"INSERT OR REPLACE INTO report_categories ({', '.join(_COLUMNS)}) "
            f"VALUES ({', '.join('?' for _ in _COLUMNS)})", [values[c] for c in _COLUMNS])


__all__ = ["Category", "CategoryError", "get_category", "list_categories", "save_category"]
