"""Deployment settings: one YAML file, merged over the embedded defaults, validated.

The schema (settings_schema.yaml) rejects unknown keys everywhere; a bad file stops the
hub with one message that names the file, the key and what to do.
"""

from __future__ import annotations

import copy
import os
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from hdss_common.errors import HdssError

SETTINGS_ENV = "HDSS_SETTINGS"

# Settings that hold filesystem paths; relative ones resolve against the project directory.
PATH_KEYS = (
    ("hub", "state_dir"),
    ("hub", "archive_root"),
    ("hub", "extra_config_dir"),
    ("data", "synthetic_root"),
    ("data", "restricted_root"),
    ("auth", "oidc", "client_secret_file"),
)


class SettingsError(HdssError):
    """The settings cannot be used; the message names what is wrong and what to do."""


def _read_yaml(text: str, origin: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise SettingsError(
            f"{origin}: not valid YAML ({e}); fix the syntax and start again"
        ) from e
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SettingsError(
            f"{origin}: the top level must be a mapping of sections, not {type(data).__name__}"
        )
    return data


def schema() -> dict[str, Any]:
    """The JSON Schema of the settings file."""
    text = resources.files("hdss_hub").joinpath("settings_schema.yaml").read_text()
    return yaml.safe_load(text)


def defaults() -> dict[str, Any]:
    """The embedded defaults, used as they are when no settings file is given."""
    text = resources.files("hdss_hub").joinpath("defaults.yaml").read_text()
    return _read_yaml(text, "embedded defaults")


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """A new dict: ``override`` over ``base``; mappings merge, everything else replaces."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _describe(error: jsonschema.ValidationError) -> str:
    where = ".".join(str(p) for p in error.absolute_path) or "(top level)"
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed))
        hint = f"; allowed keys here: {', '.join(allowed)}" if allowed else ""
        prefix = f"{where}." if error.absolute_path else ""
        return f"unknown key {', '.join(prefix + k for k in extra)}{hint}"
    return f"{where}: {error.message}"


def validate(settings: dict[str, Any], origin: str, partial: bool = False) -> None:
    """Raise SettingsError naming the first bad key of ``settings``.

    ``partial`` checks a file that will be merged over the defaults: keys it leaves out
    come from the defaults, so only what it says is checked.
    """
    validator = jsonschema.Draft202012Validator(schema())
    errors = [
        e for e in validator.iter_errors(settings) if not (partial and e.validator == "required")
    ]
    errors.sort(key=lambda e: [str(p) for p in e.absolute_path])
    if errors:
        raise SettingsError(f"{origin}: {_describe(errors[0])}. Fix it and start again.")


def resolve_paths(settings: dict[str, Any], base_dir: Path) -> dict[str, Any]:
    """A copy of ``settings`` with every relative path made absolute against ``base_dir``."""
    out = copy.deepcopy(settings)
    for keys in PATH_KEYS:
        node = out
        for key in keys[:-1]:
            node = node.get(key) or {}
        value = node.get(keys[-1])
        if isinstance(value, str) and value and not os.path.isabs(value):
            node[keys[-1]] = str((base_dir / value).resolve())
    return out


def load_settings(path: str | os.PathLike | None, base_dir: Path) -> dict[str, Any]:
    """The effective settings: the file at ``path`` (if any) over the embedded defaults.

    Both the file alone and the merged result are validated, so an unknown key in the
    file is named as it was written.
    """
    settings = defaults()
    validate(settings, "embedded defaults")
    if path:
        file = Path(path)
        if not file.is_file():
            raise SettingsError(
                f"settings file {file} does not exist: create it, or unset {SETTINGS_ENV} "
                "to run with the embedded defaults"
            )
        override = _read_yaml(file.read_text(), str(file))
        validate(override, str(file), partial=True)
        settings = merge(settings, override)
        validate(settings, str(file))
    return resolve_paths(settings, base_dir)


def archive_root(settings: dict[str, Any]) -> Path:
    """Where the archived homes of ended courses live: ``hub.archive_root``, else
    ``<hub.state_dir>/archives`` (the backup covers it)."""
    hub = settings["hub"]
    return Path(hub.get("archive_root") or Path(hub["state_dir"], "archives")).absolute()
