"""Start and stop the embedded mock as a subprocess, for ``--target mock``.

Why a subprocess: the suite must talk to the mock exactly as to a vendor's system — over a real socket —
and must not import ``mockserver`` (the mock also monkey-patches the standard library with gevent, which
must never happen inside the test process).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import deque
from pathlib import Path
from threading import Thread
from types import TracebackType
from typing import IO

from conformance.errors import LaunchError

__all__ = ["MockProcess", "start_mock"]


class MockProcess:
    """The running mock. Use as a context manager, or call :meth:`start` and :meth:`stop`.

    Args:
        csrf: Start the mock with GWS CSRF protection on (``--csrf on``) or off; None keeps its default.
        seed: A seed file for the mock (default: its built-in seed).
        startup_timeout: Seconds to wait for the ready file before giving up.
        extra_args: More ``mockserver.serve`` arguments.
        variants: Documented alternatives the mock switches to (``--variant``; mockserver/variants.py). An
            unknown name makes the mock exit at once, which :meth:`start` reports.
    """

    def __init__(
        self,
        *,
        csrf: bool | None = None,
        seed: str | Path | None = None,
        startup_timeout: float = 30.0,
        extra_args: list[str] | None = None,
        python: str = sys.executable,
        variants: list[str] | tuple[str, ...] = (),
    ) -> None:
        self.csrf = csrf
        self.seed = Path(seed) if seed else None
        self.startup_timeout = startup_timeout
        self.extra_args = list(extra_args or [])
        self.variants = list(variants)
        self.python = python
        self.base_url: str | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._dir: tempfile.TemporaryDirectory[str] | None = None
        self._stderr: deque[str] = deque(maxlen=40)
        self._reader: Thread | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def stderr_tail(self) -> str:
        return "".join(self._stderr).strip()

    def start(self) -> str:
        """Start the mock on a free port; returns its base URL (``http://localhost:43997``).

        Raises:
            LaunchError: the process exited or did not write its ready file in time (with its stderr tail).
        """
        if self._process is not None:
            raise LaunchError("the mock is already started")
        self._dir = tempfile.TemporaryDirectory(prefix="voicekit-mock-")
        ready = Path(self._dir.name) / "ready"
        argv = [self.python, "-m", "mockserver.serve", "--port", "0", "--ready-file", str(ready)]
        if self.csrf is not None:
            argv += ["--csrf", "on" if self.csrf else "off"]
        if self.seed is not None:
            argv += ["--seed", str(self.seed)]
        if self.variants:
            argv += ["--variant", ",".join(self.variants)]
        argv += self.extra_args
        try:
            self._process = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=os.environ.copy()
            )
        except OSError as exc:
            self._cleanup()
            raise LaunchError(f"cannot start the mock ({' '.join(argv)}): {exc}") from None
        assert self._process.stderr is not None
        self._reader = Thread(target=self._read, args=(self._process.stderr,), name="voicekit-mock-stderr", daemon=True)
        self._reader.start()
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if ready.exists():
                url = ready.read_text(encoding="utf-8").strip()
                if url:
                    self.base_url = url.rstrip("/")
                    return self.base_url
            code = self._process.poll()
            if code is not None:
                self._reader.join(timeout=2)
                self._cleanup()
                raise LaunchError(f"the mock exited with code {code} before it was ready" + self._tail_text())
            time.sleep(0.05)
        self.stop()
        raise LaunchError(f"the mock did not become ready within {self.startup_timeout:g} s" + self._tail_text())

    def _tail_text(self) -> str:
        tail = self.stderr_tail()
        return f"; its stderr ends with:\n{tail}" if tail else " (it wrote nothing on stderr)"

    def _read(self, stream: IO[bytes]) -> None:
        for line in iter(stream.readline, b""):
            self._stderr.append(line.decode("utf-8", "replace"))
        stream.close()

    def stop(self, timeout: float = 5.0) -> int | None:
        """SIGTERM, then SIGKILL after ``timeout`` seconds; returns the exit code."""
        process, code = self._process, None
        if process is not None:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=timeout)
            code = process.returncode
        if self._reader is not None:
            self._reader.join(timeout=2)
        self._cleanup()
        return code

    def _cleanup(self) -> None:
        self._process = None if self._process is None or self._process.poll() is not None else self._process
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None

    def __enter__(self) -> MockProcess:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def start_mock(
    *,
    csrf: bool | None = None,
    seed: str | Path | None = None,
    startup_timeout: float = 30.0,
    variants: list[str] | tuple[str, ...] = (),
) -> MockProcess:
    """A started :class:`MockProcess` (call ``stop()`` when done, or use ``with MockProcess() as m``)."""
    process = MockProcess(csrf=csrf, seed=seed, startup_timeout=startup_timeout, variants=variants)
    process.start()
    return process
