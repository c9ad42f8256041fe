"""The voicekit pytest plugin: the one ``pytest11`` entry point (``voicekit = "conformance.plugin"``), also usable
with ``-p conformance.plugin``. It registers one module per job (``conformance/pytest_plugin/``):

* ``options`` — ``--vk-target mock|FILE``, ``--vk-config FILE``, ``--vk-profile a,b``, ``--vk-allow-destructive``,
  ``--vk-report-dir DIR``, ``--vk-fail-under PCT``, ``--vk-request-timeout``, ``--vk-notification-timeout``,
  ``--vk-run-timeout`` (seconds), ``--vk-reset module|test|session|none``, ``--vk-csrf on|off|auto``,
  ``--vk-no-summary``, ``--vk-set section.key=value`` (repeatable); each but the last two has an ini twin
  (``vk_target``…). Declared once, with ``voicekit certify``'s, in ``conformance/options.py``.
* ``results`` — result events, the certificate (``--vk-report-dir``), the exit status and the console summary.
* ``collection`` — markers ``vk_profile(name)``, ``vk_rule(id, document=, lines=(a, b), title=)``,
  ``vk_fixture_id(id)``, ``vk_operations(*catalog_ids)``, ``vk_destructive``, ``vk_severity(level)``,
  ``vk_needs_event(name)``; selection by profile.
* ``fixtures`` — session ``vk_target``, ``vk_config``, ``vk_contracts``, ``vk_corpus``; per test ``vk_gws_agent``,
  ``vk_gws_agent_b``, ``vk_gws_supervisor``, ``vk_gws_admin``, ``vk_gws_anonymous``, ``vk_gws_client`` (factory),
  ``vk_gws_notifications`` (factory), ``vk_events``, ``vk_platform_client`` (factory), ``vk_platform_login``,
  ``vk_bus`` (factory), ``vk_cleanup``.

Every marker and fixture carries the ``vk_`` prefix: a ``pytest11`` plugin is loaded into every pytest session of
an environment where it is installed, so it must not claim common names (``profile``, ``events``) there.

It stays inert — starts nothing, loads no configuration — unless the collected tests carry a ``vk_profile`` marker,
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
