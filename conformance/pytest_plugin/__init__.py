"""The voicekit pytest plugin, one module per job (as pytest-xdist and Schemathesis split theirs).

``conformance/plugin.py`` is the one ``pytest11`` entry point; it registers, in this order:

* ``options`` — the ``--vk-*`` options and their ini twins, generated from ``conformance/options.py``;
* ``results`` — result events, the certificate and the console summary;
* ``collection`` — markers, collection by profile, the destructive skip, the run timeout;
* ``fixtures`` — the target, the per-test scope (guard, reset, cleanup) and the clients.

``state`` (the session's :class:`~conformance.pytest_plugin.state.VkState`) and ``scope`` (a test's cleanup and
clients) hold no hooks: every job module reads them.
"""
