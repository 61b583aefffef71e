"""Safe delivery of alert notifications to user-supplied URLs (webhooks, Slack incoming webhooks).

A user-supplied URL must never reach us or our cloud (SSRF): it must use https, its name is resolved
once, every address it resolves to must be public, and the connection is pinned to the checked address
(with SNI, certificate check and Host header for the original name), so a second DNS answer cannot
point the request elsewhere (DNS rebinding). No redirects, no retries here (the caller schedules them),
short timeouts, at most a few KiB of the answer read and then thrown away: only the status code is kept.
Slack webhook URLs are secrets, so nothing here puts a URL's path or query into an error.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import contextvars
import ipaddress
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import urllib3
from urllib3 import exceptions as u3

MAX_URL_LENGTH = 2048
MAX_HOST_LENGTH = 253
RESPONSE_READ_CAP = 4096  # bytes of an answer read before the connection is dropped (never kept)
USER_AGENT = "AICosts-Alerts/1"
SLACK_HOST = "hooks.slack.com"
SLACK_PATH_PREFIX = "/services/"

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Names refused before any lookup: local by definition (RFC 6761) or a cloud's metadata service.
_METADATA_NAMES = ("metadata.google.internal", "metadata")
_PORT_RANGE = "the port must be a number between 1 and 65535"
_LOCAL_HTTP_HOSTS = ("127.0.0.1", "::1")  # the only hosts the local-development exception admits

_METADATA = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200", "169.254.170.2")
)
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # a NAT64 gateway would forward to the embedded IPv4 address
# Documentation ranges (RFC 5737, RFC 3849, RFC 9637): never a real destination.
_DOCUMENTATION = tuple(
    ipaddress.ip_network(n)
    for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32", "3fff::/20")
)


_DELIVERING = contextvars.ContextVar("outbound_delivering", default=False)
# Name lookups run here so that one can be given up on: getaddrinfo itself has no timeout.
_LOOKUPS = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="outbound-dns")


class _QuietWhileDelivering(logging.Filter):
    """urllib3 logs request URLs (debug; a warning on malformed answer headers), and a webhook URL's path
    is a secret (Slack's is the credential): its records are dropped while this module sends."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not _DELIVERING.get()


for _name in ("urllib3.connectionpool", "urllib3.connection", "urllib3.response"):
    logging.getLogger(_name).addFilter(_QuietWhileDelivering())


class RefusedDestination(ValueError):
    """A URL we will not send to; str(exc) is a sentence to show the user as it is."""


class UnresolvedHost(RefusedDestination):
    """The name did not resolve: refused when configuring, but possibly transient when delivering."""


def resolve_host(host: str, port: int) -> list[str]:
    """The addresses getaddrinfo gives for host (one lookup), in its order, without duplicates."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class OutboundPolicy:
    allow_local_http: bool = False  # dev/tests only: permits http://127.0.0.1[:port] and http://[::1][:port]
    connect_timeout_s: float = 3.0
    read_timeout_s: float = 10.0  # per read: a receiver that trickles bytes is cut off by attempt_s
    attempt_s: float = 15.0  # the whole attempt, name lookup to last byte: a hard wall-clock bound
    resolve_s: float = 5.0  # a name server that does not answer in time fails the lookup
    resolver: Callable[[str, int], list[str]] = resolve_host  # injectable for tests
    ca_file: str | None = None  # tests only: trust this CA file instead of certifi / the system store
    # Tests only, never set from configuration: lets a name resolve to a loopback address so the pinned
    # HTTPS path (SNI, certificate check, Host header) can be exercised against a local server.
    allow_loopback_for_tests: bool = False


@dataclass(frozen=True)
class Target:
    """A checked URL: what to connect to (address, port) and what to say (scheme, host, path)."""

    scheme: str
    host: str  # the name as the user wrote it (lowercase, IDNA), or an IP literal without brackets
    port: int
    path: str = field(repr=False)  # path + query: a Slack URL's path is its secret, so never in repr
    address: str  # the checked IP the connection is pinned to

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default_port = 443 if self.scheme == "https" else 80
        return host if self.port == default_port else f"{host}:{self.port}"


@dataclass(frozen=True)
class Delivery:
    ok: bool  # 2xx
    status_code: int | None  # None: no HTTP answer
    error: str  # "" or a short reason; never the URL's path or query
    duration_ms: int


def check_url(url: str, policy: OutboundPolicy, *, slack: bool = False) -> Target:
    """The Target for url, or RefusedDestination saying why not. Resolves the name exactly once."""
    scheme, host, port, path = _parse(url)
    local = policy.allow_local_http and scheme == "http" and host in _LOCAL_HTTP_HOSTS
    if scheme != "https" and not local:
        raise RefusedDestination("webhook URLs must use https")
    if local:  # the literal loopback address of the local-development exception: nothing to resolve
        return Target(scheme, host, port, path, host)
    if slack and (host != SLACK_HOST or not path.startswith(SLACK_PATH_PREFIX)):
        raise RefusedDestination(f"Slack webhook URLs start with https://{SLACK_HOST}{SLACK_PATH_PREFIX}")
    name = host.rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        raise RefusedDestination(f"{host} is a local name: refused")
    if name in _METADATA_NAMES:
        raise RefusedDestination(f"{host} is a cloud metadata name: refused")
    addresses = _addresses(host, port, policy)
    for address in addresses:
        reason = refusal_reason(address, allow_loopback=policy.allow_loopback_for_tests)
        if reason:
            said = f"{host} is" if address == host else f"{host} resolves to {address},"
            raise RefusedDestination(f"{said} {reason}: refused")
    # Only the standard https port: other ports reach services that were never meant for HTTP
    # (mail, caches), and the production network policy opens only 443.
    if port != 443 and not policy.allow_loopback_for_tests:
        raise RefusedDestination("webhook URLs must use the standard https port (443)")
    return Target(scheme, host, port, path, addresses[0])


def refusal_reason(address: str, *, allow_loopback: bool = False) -> str:
    """Why we never connect to address ("a private address", ...), or "" when it is public."""
    ip, carried_as = _unwrap(ipaddress.ip_address(address))
    if carried_as:  # judged by the IPv4 address it would reach
        reason = refusal_reason(str(ip), allow_loopback=allow_loopback)
        return f"{reason} ({ip}, {carried_as})" if reason else ""
    if ip in _METADATA:
        return "a cloud metadata address"
    if ip.is_unspecified:
        return "an unspecified address"
    if ip.is_loopback:
        return "" if allow_loopback else "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if (
        isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local
    ):  # deprecated, still routed on some networks
        return "a site-local address"
    if ip.is_multicast:
        return "a multicast address"
    if ip in _CGNAT:
        return "a shared (CGNAT) address"
    if any(ip in net for net in _DOCUMENTATION):
        return "a documentation address"
    if ip.is_private:
        return "a private address"
    if ip.is_reserved or not ip.is_global:
        return "a reserved address"
    return ""


def post_json(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    policy: OutboundPolicy,
    *,
    slack: bool = False,
) -> Delivery:
    """POST body as JSON to url through check_url's pinned address. Never raises for network problems."""
    started = time.monotonic()
    try:
        target = check_url(url, policy, slack=slack)
    except UnresolvedHost as exc:  # DNS trouble may pass: not a refusal, so the caller may retry it
        return Delivery(False, None, str(exc), _ms_since(started))
    except RefusedDestination as exc:
        return Delivery(False, None, f"refused: {exc}", _ms_since(started))
    status, error = _send(target, body, headers, policy)
    ok = status is not None and 200 <= status < 300
    if status is not None and 300 <= status < 400:
        error = f"redirect not followed ({status})"
    return Delivery(ok, status, error, _ms_since(started))


def _parse(url: str) -> tuple[str, str, int, str]:
    if len(url) > MAX_URL_LENGTH:
        raise RefusedDestination(f"webhook URLs are at most {MAX_URL_LENGTH} characters")
    # urlsplit silently drops tabs and newlines, and browsers read "\" as "/": refuse rather than guess.
    if any(ch <= " " or ch in "\x7f\\" for ch in url):
        raise RefusedDestination("webhook URLs may not contain spaces, control characters or backslashes")
    try:
        parts = urlsplit(url)
    except ValueError:
        raise RefusedDestination("this is not a valid URL (check the host name)") from None
    try:
        port = parts.port
    except ValueError:
        raise RefusedDestination(_PORT_RANGE) from None
    if parts.scheme not in ("https", "http"):
        raise RefusedDestination("webhook URLs must use https")
    if "@" in parts.netloc:
        raise RefusedDestination("webhook URLs may not contain a user name or password")
    host = _ascii_host(parts.hostname or "")
    if port is None:
        port = 443 if parts.scheme == "https" else 80
    elif not 1 <= port <= 65535:
        raise RefusedDestination(_PORT_RANGE)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if not path.isascii():
        raise RefusedDestination("the URL's path must be percent-encoded ASCII")
    return parts.scheme, host, port, path  # the fragment is never sent, so it is dropped


def _ascii_host(host: str) -> str:
    if not host:
        raise RefusedDestination("webhook URLs need a host name")
    try:
        return str(ipaddress.ip_address(host))  # an IP literal, in canonical form
    except ValueError:
        pass
    try:
        name = host if host.isascii() else host.encode("idna").decode("ascii")
    except UnicodeError:
        raise RefusedDestination("the host name is not a valid international domain name") from None
    allowed = set("abcdefghijklmnopqrstuvwxyz0123456789.-_")
    if len(name) > MAX_HOST_LENGTH or not set(name) <= allowed or ".." in name or name.startswith("."):
        raise RefusedDestination("the host name is not a valid domain name")
    return name


def _addresses(host: str, port: int, policy: OutboundPolicy) -> list[str]:
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    lookup = _LOOKUPS.submit(policy.resolver, host, port)
    try:
        found = lookup.result(timeout=policy.resolve_s)
    except concurrent.futures.TimeoutError:
        raise UnresolvedHost(f"{host} did not resolve within {policy.resolve_s:g} s") from None
    except (OSError, UnicodeError):
        found = []
    addresses = []
    for address in found:
        try:
            addresses.append(str(ipaddress.ip_address(address)))
        except ValueError:
            raise RefusedDestination(f"{host} resolves to something that is not an IP address") from None
    if not addresses:
        raise UnresolvedHost(f"{host} could not be resolved")
    return addresses


def _unwrap(ip: IpAddress) -> tuple[IpAddress, str]:
    """The IPv4 address an IPv6 address would reach and how it carries it; (ip, "") for the others."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped:
            return ip.ipv4_mapped, "IPv4-mapped"
        if ip.sixtofour:
            return ip.sixtofour, "via 6to4"
        if ip in _NAT64:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF), "via NAT64"
    return ip, ""


def _send(
    target: Target, body: bytes, headers: Mapping[str, str], policy: OutboundPolicy
) -> tuple[int | None, str]:
    """(status, error) of one POST to the target's pinned address; the answer's body is read and dropped."""
    ours = {
        "Host": target.host_header,
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Connection": "close",
    }
    replaced = {name.lower() for name in ours}
    sent = {k: v for k, v in headers.items() if k.lower() not in replaced} | ours
    timeout = urllib3.Timeout(connect=policy.connect_timeout_s, read=policy.read_timeout_s)
    quiet = _DELIVERING.set(True)
    watch = _Watchdog(policy.attempt_s)
    try:
        with _pool(target, policy, timeout) as pool:
            pool.ConnectionCls = watch.watching(pool.ConnectionCls)
            response = pool.urlopen(
                "POST",
                target.path,
                body=body,
                headers=sent,
                retries=False,
                redirect=False,
                preload_content=False,
                assert_same_host=False,
            )
            try:
                _drain(response, policy.read_timeout_s)
            except (u3.HTTPError, OSError):
                pass  # the status is what we report; a broken or slow body does not change it
            finally:  # closed, not kept for reuse: the rest of the answer is never read
                response.close()
                response.release_conn()
            if watch.expired:
                return None, f"timed out after {policy.attempt_s:g} s"
            return response.status, ""
    except Exception as exc:
        if watch.expired:  # the watchdog closed the connection: whatever urllib3 made of that
            return None, f"timed out after {policy.attempt_s:g} s"
        return None, _failure(exc, policy)
    finally:
        watch.stop()
        _DELIVERING.reset(quiet)


def _failure(exc: Exception, policy: OutboundPolicy) -> str:
    """Why an attempt failed, in words safe to show (no URL, no answer)."""
    if isinstance(exc, u3.SSLError):
        return "TLS error"
    if isinstance(exc, u3.NewConnectionError):  # before ConnectTimeoutError: urllib3 derives it from that
        refused = isinstance(exc.__cause__, ConnectionRefusedError) or "refused" in str(exc).lower()
        return "connection refused" if refused else "connection failed"
    if isinstance(exc, u3.ConnectTimeoutError):
        return f"timed out after {policy.connect_timeout_s:g} s"
    if isinstance(exc, u3.ReadTimeoutError):
        return f"timed out after {policy.read_timeout_s:g} s"
    if isinstance(exc, u3.ProtocolError):
        return "connection closed without an answer"
    return "request failed"  # HTTPError, OSError, ValueError (a header http.client will not send), ...


class _Watchdog:
    """A hard deadline for one attempt: at expiry the attempt's sockets are shut down, which ends
    any blocked read at once (a per-read timeout alone lets a trickling receiver hold us)."""

    def __init__(self, seconds: float) -> None:
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def watching(self, connection_cls: type) -> type:
        watch = self

        class Watched(connection_cls):
            def connect(self) -> None:
                super().connect()
                watch._add(self.sock)

        return Watched

    def _add(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            expired = self.expired
        if expired:
            _shut(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shut(sock)

    def stop(self) -> None:
        self._timer.cancel()


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed: nothing left to end
        sock.shutdown(socket.SHUT_RDWR)


def _pool(target: Target, policy: OutboundPolicy, timeout: urllib3.Timeout) -> urllib3.HTTPConnectionPool:
    # The pool connects to the checked address; name checks (SNI, certificate, Host) use the original name.
    if target.scheme == "http":
        return urllib3.HTTPConnectionPool(target.address, target.port, timeout=timeout, maxsize=1)
    return urllib3.HTTPSConnectionPool(
        target.address,
        target.port,
        timeout=timeout,
        maxsize=1,
        cert_reqs="CERT_REQUIRED",
        ca_certs=policy.ca_file or _default_ca_file(),
        server_hostname=target.host,
        assert_hostname=target.host,
        ssl_minimum_version=ssl.TLSVersion.TLSv1_2,
    )


def _default_ca_file() -> str | None:
    try:
        import certifi
    except ImportError:  # urllib3 then loads the system's default trust store
        return None
    return certifi.where()


def _drain(response: urllib3.BaseHTTPResponse, budget_s: float) -> int:
    """Read and drop at most RESPONSE_READ_CAP bytes within about budget_s seconds; how many were read."""
    deadline = time.monotonic() + budget_s
    read = 0
    while read < RESPONSE_READ_CAP and time.monotonic() < deadline:
        chunk = response.read1(RESPONSE_READ_CAP - read)  # one receive at most: a trickle cannot hold us
        if not chunk:
            break
        read += len(chunk)
    return read


def _ms_since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
