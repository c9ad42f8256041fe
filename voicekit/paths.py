"""Where the contracts and fixtures live: beside the sources in a checkout, or packaged in the wheel.

Why a checkout marker and not "a folder called fixtures next to the package": installed into site-packages, the
package's parent is site-packages itself, where an unrelated distribution may own ``fixtures/`` (the ``fixtures``
package testtools depends on) — probing by name would load it as our corpus. A checkout is recognised by its own
``pyproject.toml``; anywhere else the data packaged with the wheel is used (``importlib.resources``).
"""

from __future__ import annotations

import os
from functools import cache
from importlib import resources
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


@cache
def checkout_root() -> Path | None:
    """The source checkout this package runs from (an editable install), or None when installed from a wheel."""
    root = _PACKAGE.parent
    project = root / "pyproject.toml"
    try:
        text = project.read_text(encoding="utf-8")
    except OSError:
        return None
    return root if 'name = "voicekit"' in text else None


def _packaged(*parts: str) -> Path:
    return Path(str(resources.files("voicekit").joinpath("data", *parts)))


def _locate(name: str) -> Path:
    override = os.environ.get(f"VOICEKIT_{name.upper()}_DIR")
    if override:
        return Path(override).resolve()
    root = checkout_root()
    return root / name if root is not None else _packaged(name)


def specs_dir() -> Path:
    """The folder holding the OpenAPI/AsyncAPI documents, JSON Schemas, catalog and errata."""
    return _locate("specs")


def fixtures_dir() -> Path:
    """The folder holding one YAML file per documented sample."""
    return _locate("fixtures")


def seeds_dir() -> Path:
    """The seed documents, which sit beside the checkout in ../shared/seeds (never shipped)."""
    override = os.environ.get("VOICEKIT_SEEDS_DIR")
    if override:
        return Path(override).resolve()
    root = checkout_root() or Path.cwd()
    return (root.parent / "shared" / "seeds").resolve()


def asyncapi_meta_schema() -> Path:
    """The official AsyncAPI 3.0.0 JSON Schema, shipped with the package (see ``voicekit/meta/README.md``)."""
    return Path(str(resources.files("voicekit").joinpath("meta", "asyncapi-3.0.0-without-id.json")))


def node_modules_dir() -> Path | None:
    """Node tools installed by the project's set-up (the CometD client, Allure), in a checkout only."""
    root = checkout_root()
    return root / "node_modules" if root is not None else None
