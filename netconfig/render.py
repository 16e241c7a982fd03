"""Template variables -> the exact config text a device will be given.

Rendering validates first: nothing that fails `netconfig.validate` is ever rendered, so a preview
(``oasis config render AP``) and a push can never disagree about what is allowed. Templates live
in each platform folder (``netconfig/platforms/<name>/templates/``) and run with StrictUndefined:
a variable missing from every layer is an error, not an empty string on the device.
"""

from __future__ import annotations

import copy
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import overload

import jinja2

from netconfig import regdomain, validate
from netconfig.platforms import get_platform
from netconfig.platforms.base import ConfigDriver, Platform

SECRET_KEYS = ("passphrase",)


def uci_quote(value: object) -> str:
    """A value in UCI's own quoting (what ``uci show`` prints, and valid shell)."""
    return "'" + str(value).replace("'", "'\\''") + "'"


@overload
def redact_variables(variables: Mapping) -> dict: ...
@overload
def redact_variables(variables: list) -> list: ...
@overload
def redact_variables(variables: object) -> object: ...
def redact_variables(variables: object) -> object:
    """A copy with every secret value masked, for previews, logs and the audit log."""
    if isinstance(variables, Mapping):
        return {k: ("********" if k in SECRET_KEYS and v else redact_variables(v))
                for k, v in variables.items()}
    if isinstance(variables, list):
        return [redact_variables(v) for v in variables]
    return variables


def secret_values(variables: object) -> list[str]:
    """Every secret value in ``variables`` (passphrases), longest first, for masking text that
    may quote them (command lists, device messages)."""
    found: set[str] = set()

    def walk(value: object) -> None:
        if isinstance(value, Mapping):
            for key, inner in value.items():
                if key in SECRET_KEYS and isinstance(inner, str) and inner:
                    found.add(inner)
                else:
                    walk(inner)
        elif isinstance(value, list):
            for inner in value:
                walk(inner)

    walk(variables)
    return sorted(found, key=len, reverse=True)


def mask_values(text: str, secrets: list[str]) -> str:
    """``text`` with each secret, bare or in UCI/shell quoting, replaced by the mask."""
    for secret in secrets:
        for form in (uci_quote(secret), shlex.quote(secret), secret):
            text = text.replace(form, "********")
    return text


class NotProvisionable(ValueError):
    """The platform has no configuration driver."""


@dataclass(frozen=True)
class Rendered:
    platform: str
    text: str


def driver_of(platform: Platform) -> ConfigDriver:
    if platform.driver is None:
        raise NotProvisionable(f"platform {platform.name!r} cannot be provisioned over SSH")
    return platform.driver


def prepare(driver: ConfigDriver, variables: Mapping) -> dict:
    """Fill the defaults every template may rely on (documented in docs/provisioning.md)."""
    out = copy.deepcopy(dict(variables))
    out.setdefault("country", regdomain.COUNTRY)
    radios = {}
    for band, radio in (out.get("radios") or {}).items():
        radio = dict(radio)
        radio.setdefault("channel", "auto")
        radio.setdefault("tx_power", None)
        radio.setdefault("enabled", True)
        radio.setdefault("htmode", None)
        radio["name"] = driver.radio_names.get(band, band)
        radios[band] = radio
    out["radios"] = radios
    ssids = []
    for entry in out.get("ssids") or []:
        entry = dict(entry)
        entry.setdefault("security", "open")
        entry.setdefault("bands", sorted(radios))
        entry.setdefault("hidden", False)
        entry.setdefault("vlan", None)
        entry.setdefault("passphrase", None)
        ssids.append(entry)
    out["ssids"] = ssids
    return out


def problems(platform: Platform, variables: Mapping) -> list[validate.Problem]:
    driver = driver_of(platform)
    found = validate.problems(variables, ascii_ssid_only=driver.ascii_ssid_only)
    ssids = variables.get("ssids") or []
    for index, entry in enumerate(ssids if isinstance(ssids, list) else []):
        if not isinstance(entry, Mapping):
            continue
        if entry.get("security", "open") in validate.SECURITY_MODES \
                and entry.get("security", "open") not in driver.security_modes:
            found.append(validate.Problem(
                f"ssids[{index}].security", "unsupported",
                f"{platform.label} supports {', '.join(driver.security_modes)}"))
        for key in ("ssid", "passphrase"):
            value = entry.get(key)
            refusal = driver.cli_refusal(value) if isinstance(value, str) and value else None
            if refusal and not any(p.field == f"ssids[{index}].{key}" for p in found):
                found.append(validate.Problem(f"ssids[{index}].{key}", "platform_refused",
                                              f"{platform.label}: {refusal}"))
    return found


class Renderer:
    """Renders per platform; holds one Jinja environment per platform folder."""

    def __init__(self) -> None:
        self._environments: dict[str, jinja2.Environment] = {}

    def _environment(self, platform: Platform) -> jinja2.Environment:
        env = self._environments.get(platform.name)
        if env is None:
            env = jinja2.Environment(
                loader=jinja2.PackageLoader(f"netconfig.platforms.{platform.name}", "templates"),
                undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)
            env.filters["uci"] = uci_quote
            self._environments[platform.name] = env
        return env

    def render(self, platform_name: str, variables: Mapping) -> Rendered:
        """Validate, then render; raises `validate.ValidationFailed` listing every problem."""
        platform = get_platform(platform_name)
        driver = driver_of(platform)
        found = problems(platform, variables)
        if found:
            raise validate.ValidationFailed(found)
        template = self._environment(platform).get_template(driver.template)
        try:
            text = template.render(**prepare(driver, variables))
        except jinja2.UndefinedError as exc:
            raise validate.ValidationFailed(
                [validate.Problem("template", "undefined", str(exc))]) from None
        return Rendered(platform.name, text.strip("\n") + "\n")
