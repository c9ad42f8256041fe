"""A synchronous HTTP client bound to one target system and one identity, that records everything.

Why not plain httpx: every request must become evidence (an :class:`~conformance.evidence.Exchange` in the
current test and a redacted Allure step), GWS needs its session cookie and CSRF token handled the way a
browser client does, and transport problems must read as the target's failure, not as a traceback.

* GWS: HTTP Basic on every request, ``JSESSIONID`` kept in a cookie jar; CSRF (003 l.4401-4419): the
  ``X-CSRF-HEADER``/``X-CSRF-TOKEN`` pair of GET responses is remembered and sent on POST/PUT/DELETE/PATCH.
  ``csrf="auto"`` sends it when the target has announced one and, before the first unsafe request of a
  client that has not made a GET yet, makes one priming GET to learn whether it does; ``"on"`` always primes;
  ``"off"`` never sends it. Negative tests switch it off per request (``csrf=False``) or with
  :meth:`HttpClient.csrf_disabled`.
* Platform: ``Authorization: Bearer <token>``.

Every exchange is bounded, whatever the target does (:func:`send_bounded`, shared with the CometD client): the
request's timeout is a deadline for the whole exchange (checked between the chunks of a streamed body, so a
target trickling bytes cannot hold a request for longer than the timeout plus one read gap), and a response
body larger than :func:`response_limit` (``--max-response-bytes``) is refused as the target's failure instead
of being read into memory.
"""

from __future__ import annotations

import base64
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from http.cookiejar import CookieJar
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import httpx

from conformance import safejson
from conformance.evidence import Exchange, report_exchange
from conformance.failures import ConformanceFailure, ProtocolViolation, TargetUnreachable

__all__ = [
    "DEFAULT_MAX_RESPONSE_BYTES",
    "UNSAFE_METHODS",
    "HttpClient",
    "HttpResponse",
    "ResponseTooLarge",
    "build_exchange",
    "response_limit",
    "send_bounded",
    "set_response_limit",
    "transport_failure",
]

UNSAFE_METHODS = frozenset({"POST", "PUT", "DELETE", "PATCH"})
DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024
_limit = {"bytes": DEFAULT_MAX_RESPONSE_BYTES}


def response_limit() -> int:
    """The most bytes read of one response body or WebSocket frame (``limits.max_response_bytes``)."""
    return _limit["bytes"]


def set_response_limit(max_bytes: int) -> None:
    """Set :func:`response_limit` for this process (the target's configuration does, once per run)."""
    if max_bytes < 1:
        raise ValueError("the response limit is at least 1 byte")
    _limit["bytes"] = int(max_bytes)


class ResponseTooLarge(ProtocolViolation):
    """A response body or frame beyond the configured limit: the target's failure, read no further."""

    default_title = "Response too large"


def over_limit(what: str, size: str, max_bytes: int) -> ResponseTooLarge:
    return ResponseTooLarge(f"{what}: {size} exceeds the limit of {max_bytes} bytes (--max-response-bytes)")


class HttpResponse:
    """A response as the suite sees it: status, headers, text, and the exchange that records it."""

    def __init__(
        self,
        response: httpx.Response,
        exchange: Exchange,
        path: str,
        system: str | None = None,
        content: bytes | None = None,
    ) -> None:
        self._response = response
        self._content = response.content if content is None else content
        self.system = system
        self.exchange = exchange
        self.path = path  # as requested, relative to the client's base URL
        self.method = exchange.method
        self.url = str(response.request.url)

    @property
    def status(self) -> int:
        return self._response.status_code

    status_code = status

    @property
    def headers(self) -> httpx.Headers:
        return self._response.headers

    @property
    def text(self) -> str:
        return self._content.decode(self._response.encoding or "utf-8", errors="replace")

    @property
    def content(self) -> bytes:
        return self._content

    @property
    def content_type(self) -> str:
        value: str = self._response.headers.get("content-type", "")
        return value.split(";", 1)[0].strip().lower()

    def json(self) -> Any:
        """The body parsed as JSON.

        Raises:
            ProtocolViolation: the body is empty or not JSON (the target answered garbage).
        """
        try:
            return safejson.loads(self._content)
        except safejson.JsonTooDeep as exc:
            raise ProtocolViolation(f"{self.method} {self.path} answered {self.status} with {exc}") from None
        except ValueError:
            snippet = self.text[:120].replace("\n", " ")
            raise ProtocolViolation(
                f"{self.method} {self.path} answered {self.status} with a body that is not JSON "
                f"(Content-Type {self.content_type or 'missing'}): {snippet!r}"
            ) from None

    def json_or_none(self) -> Any:
        try:
            return safejson.loads(self._content)
        except ValueError:
            return None

    def __repr__(self) -> str:
        return f"<HttpResponse {self.method} {self.path} {self.status}>"


def transport_failure(exc: httpx.HTTPError, method: str, url: str, timeout: float) -> Exception:
    """The suite's reading of an httpx error: unreachable (refused, timeout) or a protocol violation."""
    if isinstance(exc, httpx.TimeoutException):
        return TargetUnreachable(
            f"{method} {url}: no answer within {timeout:g} s ({type(exc).__name__})", outage="hang"
        )
    if isinstance(exc, httpx.ConnectError):
        return TargetUnreachable(f"{method} {url}: cannot connect ({_reason(exc)})", outage="unreachable")
    if isinstance(exc, httpx.RemoteProtocolError):
        return ProtocolViolation(f"{method} {url}: the answer is not valid HTTP ({_reason(exc)})")
    return TargetUnreachable(f"{method} {url}: {type(exc).__name__} ({_reason(exc)})", outage="unreachable")


def send_bounded(
    client: httpx.Client,
    request: httpx.Request,
    *,
    timeout: float,
    record: Callable[[Exchange], None],
    max_bytes: int | None = None,
) -> tuple[httpx.Response, bytes]:
    """Send ``request`` and read its body within ``timeout`` seconds (a deadline for the whole exchange) and
    ``max_bytes`` (default :func:`response_limit`); the exchange is passed to ``record`` whatever happens.

    Raises:
        TargetUnreachable: refused, no answer, or not all of it before the deadline (``outage="hang"``).
        ResponseTooLarge: the body (announced or received) exceeds the limit.
        ProtocolViolation: the answer is not HTTP.
    """
    cap = response_limit() if max_bytes is None else max_bytes
    method, url = request.method, str(request.url)
    started = time.monotonic()
    deadline = started + timeout
    response: httpx.Response | None = None
    body = bytearray()
    try:
        response = client.send(request, stream=True)
        try:
            declared = response.headers.get("content-length", "")
            if method != "HEAD" and declared.isdigit() and int(declared) > cap:  # HEAD announces, never sends
                raise over_limit(f"{method} {url}", f"the announced Content-Length {int(declared)}", cap)
            _check_deadline(deadline, method, url, timeout, len(body))
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > cap:
                    raise over_limit(f"{method} {url}", "the response body", cap)
                _check_deadline(deadline, method, url, timeout, len(body))
        finally:
            response.close()
    except httpx.HTTPError as exc:
        record(build_exchange(request, response, time.monotonic() - started, error=f"{type(exc).__name__}: {exc}"))
        raise transport_failure(exc, method, url, timeout) from None
    except ConformanceFailure as exc:
        record(build_exchange(request, response, time.monotonic() - started, error=exc.message))
        raise
    content = bytes(body)
    record(build_exchange(request, response, time.monotonic() - started, content=content))
    return response, content


def _check_deadline(deadline: float, method: str, url: str, timeout: float, received: int) -> None:
    if time.monotonic() > deadline:
        raise TargetUnreachable(
            f"{method} {url}: the answer did not complete within {timeout:g} s ({received} bytes of the body received)",
            outage="hang",
        )


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if "Connection refused" in text or "[Errno 111]" in text:
        return "connection refused"
    return text


class HttpClient:
    """HTTP client for one system of the target.

    Args:
        base_url: The system's root (``http://gws:8080``); request paths are appended to it.
        auth: ``(username, password)`` for HTTP Basic on every request (GWS).
        token: A bearer token (Platform); settable later through :attr:`token`.
        csrf: ``"auto"``, ``"on"`` or ``"off"`` (see the module docstring).
        csrf_prime_path: The GET made to learn the CSRF token.
        timeout: Seconds for one request (connect, read, write each).
        verify: TLS verification: a bool or an ``ssl.SSLContext``.
        cookies: A cookie jar to share (e.g. with a CometD client); a new one by default.
        name: Who this client is, shown in evidence (``agent A``).
        system: ``gws`` or ``platform``: which contract the responses are checked against.
        record: Record exchanges as evidence and Allure steps.
        max_response_bytes: The largest response body read (default: :func:`response_limit`).
    """

    def __init__(
        self,
        base_url: str,
        *,
        auth: tuple[str, str] | None = None,
        token: str | None = None,
        csrf: str = "auto",
        csrf_prime_path: str = "/api/v2/me",
        timeout: float = 10.0,
        verify: bool | ssl.SSLContext = True,
        cookies: CookieJar | None = None,
        headers: Mapping[str, str] | None = None,
        name: str = "",
        record: bool = True,
        system: str | None = None,
        max_response_bytes: int | None = None,
    ) -> None:
        if csrf not in ("auto", "on", "off"):
            raise ValueError("csrf is auto, on or off")
        self.base_url = base_url.rstrip("/")
        self.auth = auth
        self.token = token
        self.csrf = csrf
        self.csrf_prime_path = csrf_prime_path
        self.timeout = timeout
        self.verify = verify
        self.name = name
        self.record = record
        self.system = system
        self.max_response_bytes = max_response_bytes
        self.cookies = cookies if cookies is not None else CookieJar()
        self.csrf_header: str | None = None
        self.csrf_token: str | None = None
        self._csrf_suspended = False
        self._seen_get = False
        self._primed = False
        self._lock = threading.Lock()
        self.last: HttpResponse | None = None
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout),
            verify=verify,
            cookies=self.cookies,
            headers=dict(headers or {}),
            follow_redirects=False,
        )

    # ---- identity --------------------------------------------------------------------------------------------
    def auth_headers(self) -> dict[str, str]:
        """The credentials as headers (shared with the CometD client)."""
        if self.auth is not None:
            raw = f"{self.auth[0]}:{self.auth[1]}".encode()
            return {"Authorization": "Basic " + base64.b64encode(raw).decode("ascii")}
        if self.token:
            return {"Authorization": f"Bearer {self.token}"}
        return {}

    def csrf_headers(self) -> dict[str, str]:
        """The remembered CSRF header, when one is known and CSRF is not switched off."""
        if self.csrf == "off" or self._csrf_suspended or not self.csrf_token:
            return {}
        return {self.csrf_header or "X-CSRF-TOKEN": self.csrf_token}

    @contextmanager
    def csrf_disabled(self) -> Iterator[None]:
        """Send no CSRF header inside the block (negative tests)."""
        self._csrf_suspended = True
        try:
            yield
        finally:
            self._csrf_suspended = False

    def forget_session(self) -> None:
        """Drop the session cookie and CSRF token (e.g. after the target was reset)."""
        self.cookies.clear()
        self.csrf_header = self.csrf_token = None
        self._seen_get = self._primed = False

    # ---- requests --------------------------------------------------------------------------------------------
    def _relative(self, url: str) -> str:
        """The request path as the contracts write it: relative to the base URL's own path."""
        prefix = urlsplit(self.base_url).path.rstrip("/")
        parts = urlsplit(url)
        path = parts.path[len(prefix) :] if prefix and parts.path.startswith(prefix) else parts.path
        return path + (f"?{parts.query}" if parts.query else "")

    def url_for(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.base_url}/{path.lstrip('/')}" if path else self.base_url

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        data: Any = None,
        content: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        csrf: bool | None = None,
        auth: bool = True,
        timeout: float | None = None,
    ) -> HttpResponse:
        """Send one request and record it.

        Args:
            method: HTTP method.
            path: Path under the base URL (``/api/v2/me``) or an absolute URL.
            json: A JSON body.
            data: A form body (dict) for ``application/x-www-form-urlencoded``.
            content: Raw body bytes or text (malformed-body tests).
            params: Query parameters.
            headers: Extra headers; they win over the client's.
            csrf: Force sending (True) or omitting (False) the CSRF header; None follows the client's mode.
            auth: False sends the request without the client's credentials.
            timeout: Seconds for this request instead of the client's: a deadline for the whole exchange.

        Raises:
            TargetUnreachable: refused, timed out, or the connection broke.
            ResponseTooLarge: the body exceeds the response limit.
            ProtocolViolation: the answer is not HTTP.
        """
        method = method.upper()
        if method in UNSAFE_METHODS and csrf is not False:
            self.ensure_csrf()
        send_headers: dict[str, str] = {}
        if auth:
            send_headers.update(self.auth_headers())
        if method in UNSAFE_METHODS and csrf is not False:
            send_headers.update(self.csrf_headers() if csrf is None else self._forced_csrf())
        send_headers.update(headers or {})
        url = self.url_for(path)
        limit = self.timeout if timeout is None else timeout
        request = self._client.build_request(
            method,
            url,
            json=json,
            data=data,
            content=content,
            params=params,
            headers=send_headers,
            timeout=httpx.Timeout(limit),
        )
        exchanges: list[Exchange] = []

        def record(exchange: Exchange) -> None:
            exchanges.append(exchange)
            self._record(exchange)

        response, content = send_bounded(
            self._client, request, timeout=limit, record=record, max_bytes=self.max_response_bytes
        )
        if method == "GET":
            self._seen_get = True
            self._learn_csrf(response.headers)
        result = HttpResponse(response, exchanges[-1], self._relative(str(request.url)), self.system, content)
        self.last = result
        return result

    def get(self, path: str, **kwargs: Any) -> HttpResponse:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> HttpResponse:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> HttpResponse:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> HttpResponse:
        return self.request("DELETE", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> HttpResponse:
        return self.request("PATCH", path, **kwargs)

    # ---- CSRF -------------------------------------------------------------------------------------------------
    def ensure_csrf(self) -> None:
        """Make the priming GET now if the CSRF mode calls for one (the CometD client shares the token)."""
        if self._should_prime():
            self._prime_csrf()

    def _should_prime(self) -> bool:
        if self.csrf == "off" or self._csrf_suspended or self.csrf_token or self.auth is None or self._primed:
            return False
        return self.csrf == "on" or not self._seen_get

    def _prime_csrf(self) -> None:
        with self._lock:
            if self._primed:
                return
            self._primed = True
        self.get(self.csrf_prime_path)

    def _forced_csrf(self) -> dict[str, str]:
        return {self.csrf_header or "X-CSRF-TOKEN": self.csrf_token or ""}

    def _learn_csrf(self, headers: httpx.Headers) -> None:
        token = headers.get("X-CSRF-TOKEN")
        if token:
            self.csrf_header = headers.get("X-CSRF-HEADER") or "X-CSRF-TOKEN"
            self.csrf_token = token

    def _record(self, exchange: Exchange) -> None:
        if self.record:
            report_exchange(exchange)

    # ---- lifetime --------------------------------------------------------------------------------------------
    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name or ''} {self.base_url}>"


def _text(content: bytes | None) -> str | None:
    if not content:
        return None
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        return f"<{len(content)} bytes of binary data>"


def build_exchange(
    request: httpx.Request,
    response: httpx.Response | None,
    elapsed: float,
    error: str | None = None,
    content: bytes | None = None,
) -> Exchange:
    """The evidence of one exchange; ``content`` is the response body read (None: not read, e.g. refused)."""
    body = None
    try:
        body = _text(request.content)
    except httpx.RequestNotRead:  # pragma: no cover - streaming bodies are not used
        body = "<streamed body>"
    if response is None:
        return Exchange(
            request.method, str(request.url), dict(request.headers.multi_items()), body, elapsed=elapsed, error=error
        )
    return Exchange(
        request.method,
        str(request.url),
        dict(response.request.headers.multi_items()),
        body,
        response.status_code,
        _headers(response.headers),
        _text(content),
        elapsed,
        error=error,
    )


def _headers(headers: httpx.Headers) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in headers.multi_items():
        out[name] = f"{out[name]}\n{value}" if name in out else value
    return out
