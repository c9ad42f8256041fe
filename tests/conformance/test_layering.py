"""The suite talks to the target only over the wire: no module of conformance/ imports mockserver (checked
with ``ast``, so a lazy import inside a function counts too). Also: nothing imports ``conformance.cli`` (only
the ``voicekit`` command does), and ``conformance.checks`` never imports the plugin."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import conformance

ROOT = Path(conformance.__file__).resolve().parent
MODULES = sorted(ROOT.rglob("*.py"))


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", "")) in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            found.add(str(node.args[0].value))
    return found


def test_the_walk_sees_modules() -> None:
    names = {p.name for p in MODULES}
    assert {"plugin.py", "launcher.py", "cometd.py", "config.py"} <= names


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_imports_mockserver(path: Path) -> None:
    bad = sorted(m for m in imported_modules(path) if m == "mockserver" or m.startswith("mockserver."))
    assert not bad, f"{path.relative_to(ROOT)} imports {bad}: the suite must reach the mock over the wire only"


def test_the_checker_catches_an_import(tmp_path: Path) -> None:
    sample = tmp_path / "m.py"
    sample.write_text(
        "def f():\n    from mockserver.app import create_app\n    import importlib\n"
        "    importlib.import_module('mockserver.serve')\n",
        encoding="utf-8",
    )
    assert {"mockserver.app", "mockserver.serve"} <= imported_modules(sample)


def test_only_the_command_imports_conformance_cli() -> None:
    users = [p for p in MODULES if "conformance.cli" in imported_modules(p)]
    assert users == []


def test_checks_do_not_import_the_plugin() -> None:
    assert "conformance.plugin" not in imported_modules(ROOT / "checks.py")


VOICEKIT_ROOT = ROOT.parent / "voicekit"


@pytest.mark.parametrize("path", sorted(VOICEKIT_ROOT.rglob("*.py")), ids=lambda p: str(p.relative_to(VOICEKIT_ROOT)))
def test_voicekit_imports_neither_the_suite_nor_the_mock(path: Path) -> None:
    """voicekit/ is the layer both sides import (contracts, fixtures, the one replay matching engine), so it may
    import neither — except the command, which launches them (``voicekit.cli``)."""
    if path.name == "cli.py":
        return
    bad = sorted(m for m in imported_modules(path) if m.split(".")[0] in ("conformance", "mockserver"))
    assert not bad, f"voicekit/{path.relative_to(VOICEKIT_ROOT)} imports {bad}"


#: Where the kit may read the environment: the configuration (VOICEKIT_<SECTION>_<KEY>, declared in
#: specs/schemas/config/TargetConfig.json), the command (pytest's own PYTEST_DISABLE_PLUGIN_AUTOLOAD) and the
#: launcher and the Allure report generator (a child's environment, passed on whole).
READS_ENVIRONMENT = {"config.py", "cli.py", "launcher.py", "reporting/allure_html.py"}


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_settings_come_from_the_configuration_not_the_environment(path: Path) -> None:
    """A family reading ``os.environ`` at import time crashed collection on a bad value and hid the setting
    from the certificate; every setting is a key of TargetConfig (``vk_config``)."""
    if str(path.relative_to(ROOT)) in READS_ENVIRONMENT:
        return
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    reads = [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "environb")
    ]
    assert not reads, f"{path.relative_to(ROOT)} reads the environment at lines {reads}: declare a setting instead"
