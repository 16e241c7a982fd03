"""Reading the ``[reports]`` section (`ReportsConfig`, defined in `controller.reports_config`).

It reads like every other section of ``oasis.toml`` (defaults, the file, then
``OASIS_REPORTS_<KEY>``). Until the controller's `Config` carries a ``reports`` field,
`load_reports_config` reads the table from the same file on its own.
"""

from __future__ import annotations

import os
import typing

from agents.gateway.config import fill_section, read_toml
from controller.config import ConfigError
from controller.reports_config import ReportsConfig, contacts


def load_reports_config(path: str | os.PathLike | None = None,
                        env: typing.Mapping[str, str] | None = None) -> ReportsConfig:
    """Read ``[reports]`` from ``path`` (or OASIS_CONFIG), then the environment."""
    env = os.environ if env is None else env
    chosen = path or env.get("OASIS_CONFIG")
    data = read_toml(chosen) if chosen else {}
    source = str(chosen) if chosen else "defaults"
    config = ReportsConfig()
    fill_section(config, data.get("reports", {}), f"{source}: reports", env, "OASIS_REPORTS_")
    try:
        config.validate()
    except ValueError as exc:
        raise ConfigError(f"{source}: [reports] {exc}") from None
    return config


__all__ = ["ReportsConfig", "contacts", "load_reports_config"]
