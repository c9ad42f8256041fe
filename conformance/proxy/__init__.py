"""``voicekit proxy``: passive conformance. Put the proxy between a real client and a real server, use the client
normally, and every exchange — REST, the CometD long-poll stream, Platform notification and bus WebSocket frames —
is checked against the documents; on exit (or on SIGUSR1) the report of observed traffic is written.

See ``server.py`` (the relay), ``observer.py`` (the rules), ``report.py`` (the formats).
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from conformance.loading import default_contracts
from conformance.proxy.observer import Observer
from conformance.proxy.report import write
from conformance.proxy.server import ProxyServer

__all__ = ["ProxyOptions", "run"]


@dataclass
class ProxyOptions:
    upstream: str
    listen: str = "127.0.0.1:8081"
    system: str | None = None
    report_dir: Path = Path("reports/proxy")
    duration: float | None = None  # stop after this many seconds (CI, tests); None: until interrupted
    quiet: bool = False
    notification_timeout: float = 5.0
    verify: bool = True
    ready_file: Path | None = None
    record: Path | None = None  # save each documented exchange as a fixture here


def _listen(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host or "127.0.0.1", int(port)


def run(options: ProxyOptions, *, echo: Callable[[str], None] = print) -> int:
    """Serve until interrupted or ``duration``; exit 1 when a violation was seen, else 0."""
    observer = Observer(
        default_contracts(), notification_timeout=options.notification_timeout, on_line=None if options.quiet else echo
    )
    if options.record is not None:
        from conformance.proxy.recorder import Recorder

        observer.recorder = Recorder(options.record, options.upstream)
    server = ProxyServer(
        _listen(options.listen), options.upstream, observer, system=options.system, verify=options.verify
    )
    stop = threading.Event()

    def report() -> list[Path]:
        return write(observer.summary(), options.report_dir, upstream=options.upstream)

    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    if hasattr(signal, "SIGUSR1"):
        signal.signal(signal.SIGUSR1, lambda *_: threading.Thread(target=report, daemon=True).start())
    server.serve_in_thread()
    echo(f"voicekit proxy on {server.url} → {options.upstream} (reports: {options.report_dir}; Ctrl-C to stop)")
    if options.ready_file is not None:
        options.ready_file.write_text(server.url, encoding="utf-8")
    stop.wait(options.duration)
    server.shutdown()
    server.server_close()
    observer.finish(wait=min(options.notification_timeout, 2.0))
    paths = report()
    summary = observer.summary()
    echo(
        f"{summary['exchanges']} exchanges, {summary['violations']} violations, {summary['advisories']} advisory "
        f"findings; wrote {', '.join(str(p) for p in paths)}"
    )
    if observer.recorder is not None:
        echo(
            f"recorded {observer.recorder.written} exchanges as fixtures in {options.record} "
            f"({observer.recorder.skipped} undocumented ones not recorded)"
        )
    sys.stdout.flush()
    return 1 if summary["violations"] else 0
