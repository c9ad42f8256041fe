"""The support layer of the conformance families: per-system clients and checks the families share, so a family
module holds tests only.

* :mod:`~conformance.support.gws` — :class:`GwsAgent`, the one GWS agent session client (the families', the
  replay's and the event source's); :mod:`~conformance.support.gws_line` — :class:`Line` (an agent + the
  notification session a test judges) and the ordered waits; :mod:`~conformance.support.gws_checks` — capability
  sets and the GWS response envelope.
* :mod:`~conformance.support.platform` (readers, checks, OAuth helpers) and
  :mod:`~conformance.support.platform_kit` (:class:`PlatformKit`, :class:`Actor`, :class:`Watcher`).
* :mod:`~conformance.support.connect` — the Connect CTI bus as a test uses it (:class:`Bus`, matchers).
* :mod:`~conformance.support.lab` — the families' events through :class:`~conformance.events.EventSource`.
* :mod:`~conformance.support.cleanup` — the one cleanup of GWS calls (:func:`release_calls`).

The fixtures that hand these out are in ``conformance/families/conftest.py``.
"""
