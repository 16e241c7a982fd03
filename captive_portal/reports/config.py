"""The ``[reports]`` section of ``oasis.toml`` (`ReportsConfig`, in `controller.reports_config`).

It loads with the rest of the config (defaults, the file, then ``OASIS_REPORTS_<KEY>``);
`load_reports_config` is the shortcut for code that needs only this section.
"""

from __future__ import annotations

import os
import typing

from controller.config import load_config
from controller.reports_config import ReportsConfig, contacts


def load_reports_config(path: str | os.PathLike | None = None,
                        env: typing.Mapping[str, str] | None = None) -> ReportsConfig:
    """``[reports]`` from ``path`` (or OASIS_CONFIG / ./oasis.toml), then the environment."""
    return load_config(path, env).reports


__all__ = ["ReportsConfig", "contacts", "load_reports_config"]
