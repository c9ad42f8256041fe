"""The voicekit pytest plugin: the one ``pytest11`` entry point (``voicekit = "conformance.plugin"``), also usable
with ``-p conformance.plugin``. It registers one module per job (``conformance/pytest_plugin/``):

* ``options`` — ``--vk-target mock|FILE``, ``--vk-config FILE``, ``--vk-profile a,b``, ``--vk-allow-destructive``,
  ``--vk-report-dir DIR``, ``--vk-fail-under PCT``, ``--vk-request-timeout``, ``--vk-notification-timeout``,
  ``--vk-run-timeout`` (seconds), ``--vk-reset module|test|session|none``, ``--vk-csrf on|off|auto``,
  ``--vk-no-summary``, ``--vk-set section.key=value`` (repeatable); each but the last two has an ini twin
  (``vk_target``…). Declared once, with ``voicekit certify``'s, in ``conformance/options.py``.
* ``results`` — result events, the certificate (``--vk-report-dir``), the exit status and the console summary.
* ``collection`` — markers ``profile(name)``, ``rule(id, document=, lines=(a, b), title=)``, ``fixture_id(id)``,
  ``operations(*catalog_ids)``, ``destructive``, ``severity(level)``, ``needs_event(name)``; selection by profile.
* ``fixtures`` — session ``vk_target``, ``vk_config``, ``contracts``, ``corpus``; per test ``gws_agent``,
  ``gws_agent_b``, ``gws_supervisor``, ``gws_admin``, ``gws_anonymous``, ``gws_client`` (factory),
  ``gws_notifications`` (factory), ``events``, ``platform_client`` (factory), ``platform_login``, ``bus``
  (factory), ``vk_cleanup``.

It stays inert — starts nothing, loads no configuration — unless the collected tests carry a ``profile`` marker,
because the project's own test suite loads it too.
"""

from __future__ import annotations

import sys

import pytest

from conformance.pytest_plugin.scope import Cleanup
from conformance.pytest_plugin.state import VkState, get_state

__all__ = ["Cleanup", "VkState", "get_state"]

ENTRY_POINT = "voicekit"

#: The job modules, registered by pytest when it registers this module (a module's ``pytest_plugins``); in this
#: order, so a job is registered before another job imports it.
pytest_plugins = (
    "conformance.pytest_plugin.options",
    "conformance.pytest_plugin.results",
    "conformance.pytest_plugin.collection",
    "conformance.pytest_plugin.fixtures",
)


def pytest_plugin_registered(plugin: object, plugin_name: str, manager: pytest.PytestPluginManager) -> None:
    """Loaded with ``-p conformance.plugin`` while the ``pytest11`` entry point ``voicekit`` is installed: block
    the entry point, which would register this module a second time (pluggy refuses that)."""
    if plugin is sys.modules[__name__] and plugin_name != ENTRY_POINT and manager.get_plugin(ENTRY_POINT) is None:
        manager.set_blocked(ENTRY_POINT)
