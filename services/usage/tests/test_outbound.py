"""Outbound delivery against real local servers: refused destinations never see a request, accepted
ones get exactly one POST to the checked address, and every failure is a short reason, not an exception."""

from __future__ import annotations

import datetime as dt
import logging
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from usage.outbound import (
    RESPONSE_READ_CAP,
    OutboundPolicy,
    RefusedDestination,
    check_url,
    post_json,
    refusal_reason,
)

BODY = b'{"alert":"budget","spent":"12.50"}'
PUBLIC = "93.184.216.34"


class Server(ThreadingHTTPServer):
    """A local HTTP(S) server that records every request it gets and answers as `mode` says."""

    daemon_threads = True

    def __init__(self, mode: str = "ok", location: str = "") -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.mode, self.location = mode, location
        self.requests: list[dict] = []
        self.sni: list[str | None] = []
        self.release = threading.Event()  # lets a handler that holds its answer back finish at teardown

    @property
    def port(self) -> int:
        return self.server_address[1]

    def use_tls(self, cert: Path, key: Path) -> None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        context.sni_callback = lambda _sock, name, _ctx: self.sni.append(name)
        self.socket = context.wrap_socket(self.socket, server_side=True)


class Handler(BaseHTTPRequestHandler):
    server: Server

    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        pass

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
        mode = self.server.mode
        if mode == "hang":
            self.server.release.wait(10)
            return
        if mode == "trickle":  # one byte of the status line every 0.2 s: no single read ever times out
            for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"x" * 200:
                if self.server.release.wait(0.2):
                    return
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
            return
        if mode == "redirect":
            self.send_response(302)
            self.send_header("Location", self.server.location)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if mode == "huge":  # promises 100 MB, sends a little more than the cap, then holds the rest back
            self.send_response(200)
            self.send_header("Content-Length", str(100 * 1024 * 1024))
            self.end_headers()
            self.wfile.write(b"x" * (RESPONSE_READ_CAP * 4))
            self.wfile.flush()
            self.server.release.wait(10)
            return
        status = 500 if mode == "error" else 200
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")


@pytest.fixture
def serve() -> Iterator[Callable[..., Server]]:
    started: list[Server] = []

    def start(mode: str = "ok", location: str = "", tls: tuple[Path, Path] | None = None) -> Server:
        server = Server(mode, location)
        if tls:
            server.use_tls(*tls)
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.release.set()
        server.shutdown()
        server.server_close()


def resolver_to(*addresses: str, calls: list[str] | None = None) -> Callable[[str, int], list[str]]:
    def resolve(host: str, port: int) -> list[str]:
        if calls is not None:
            calls.append(host)
        return list(addresses)

    return resolve


LOCAL = OutboundPolicy(allow_local_http=True, connect_timeout_s=1, read_timeout_s=2)


# --- refused -----------------------------------------------------------------------------------------


def refused_cases(port: int) -> list[tuple[str, list[str], OutboundPolicy, str]]:
    """(url, what the injected resolver answers, policy, words the refusal must contain)."""
    local_dev = OutboundPolicy(allow_local_http=True, resolver=resolver_to("127.0.0.1"))
    strict = OutboundPolicy(resolver=resolver_to("127.0.0.1"))
    return [
        ("http://169.254.169.254/latest/meta-data/", ["127.0.0.1"], local_dev, "https"),
        ("https://169.254.169.254/", ["127.0.0.1"], local_dev, "cloud metadata address"),
        ("https://10.0.0.1/", ["127.0.0.1"], local_dev, "10.0.0.1 is a private address"),
        (f"https://localhost:{port}/", ["127.0.0.1"], local_dev, "local name"),
        (f"https://loopback.example.test:{port}/", ["127.0.0.1"], local_dev, "a loopback address"),
        (f"https://[::1]:{port}/", ["127.0.0.1"], local_dev, "loopback"),
        (f"https://127.0.0.1:{port}/", ["127.0.0.1"], local_dev, "loopback"),
        ("https://[::ffff:10.0.0.1]/", ["127.0.0.1"], local_dev, "private address (10.0.0.1, IPv4-mapped)"),
        (f"https://[::ffff:127.0.0.1]:{port}/", ["127.0.0.1"], local_dev, "loopback"),
        (f"https://api.example.test:{port}/", ["10.0.0.5"], local_dev, "resolves to 10.0.0.5, a private"),
        (f"https://api.example.test:{port}/", [PUBLIC, "127.0.0.1"], local_dev, "resolves to 127.0.0.1"),
        (f"https://api.example.test:{port}/", [PUBLIC, "192.168.1.1"], local_dev, "private"),
        (f"https://api.example.test:{port}/", ["100.100.100.200"], local_dev, "cloud metadata"),
        (f"https://api.example.test:{port}/", ["fd00:ec2::254"], local_dev, "cloud metadata"),
        (f"https://api.example.test:{port}/", ["100.64.0.1"], local_dev, "CGNAT"),
        (f"https://api.example.test:{port}/", ["fe80::1"], local_dev, "link-local"),
        (f"https://api.example.test:{port}/", ["fec0::1"], local_dev, "site-local"),
        (f"https://api.example.test:{port}/", [PUBLIC], local_dev, "standard https port (443)"),
        (f"https://api.example.test:{port}/", ["224.0.0.1"], local_dev, "multicast"),
        (f"https://api.example.test:{port}/", ["0.0.0.0"], local_dev, "unspecified"),
        (f"https://api.example.test:{port}/", ["240.0.0.1"], local_dev, "address"),
        (f"https://api.example.test:{port}/", ["203.0.113.9"], local_dev, "documentation"),
        (f"https://api.example.test:{port}/", ["64:ff9b::a00:1"], local_dev, "NAT64"),
        (f"https://metadata.google.internal:{port}/", ["127.0.0.1"], local_dev, "cloud metadata name"),
        (f"http://api.example.test:{port}/hook", ["127.0.0.1"], local_dev, "must use https"),
        (f"http://localhost:{port}/hook", ["127.0.0.1"], local_dev, "must use https"),
        (f"http://127.0.0.1:{port}/hook", ["127.0.0.1"], strict, "must use https"),
        (f"https://user:pass@api.example.test:{port}/", [PUBLIC], local_dev, "user name or password"),
        (f"ftp://api.example.test:{port}/", [PUBLIC], local_dev, "must use https"),
        ("https://api.example.test:port/", [PUBLIC], local_dev, "port must be a number"),
        ("https://api.example.test:0/", [PUBLIC], local_dev, "port must be a number"),
        ("https://api.example.test:70000/", [PUBLIC], local_dev, "port must be a number"),
        ("https:///nohost", [PUBLIC], local_dev, "host"),
        ("https://api.example.test/a b", [PUBLIC], local_dev, "spaces"),
        ("https://api.example.test/a\nb", [PUBLIC], local_dev, "control characters"),
        ("https://api.exa mple.test/", [PUBLIC], local_dev, "spaces"),
        ("https://api.example.test/caf\u00e9", [PUBLIC], local_dev, "percent-encoded"),
        ("https://api_$.example.test/", [PUBLIC], local_dev, "not a valid domain name"),
        ("https://api.example.test\\@evil/", [PUBLIC], local_dev, "backslashes"),
        ("https://api.example.test/" + "a" * 2048, [PUBLIC], local_dev, "2048"),
    ]


def test_refused_destinations_say_why_and_the_server_gets_nothing(serve: Callable[..., Server]) -> None:
    server = serve()
    for url, answers, policy, words in refused_cases(server.port):
        # The resolver points every name at the listening server: only the check stands in the way.
        policy = OutboundPolicy(
            allow_local_http=policy.allow_local_http,
            resolver=resolver_to(*answers),
            connect_timeout_s=1,
            read_timeout_s=1,
        )
        with pytest.raises(RefusedDestination) as refused:
            check_url(url, policy)
        assert words in str(refused.value), (url, str(refused.value))
        delivery = post_json(url, BODY, {}, policy)
        assert (delivery.ok, delivery.status_code) == (False, None)
        assert delivery.error == f"refused: {refused.value}"
    assert server.requests == []


def test_slack_urls_must_be_slack_webhooks() -> None:
    policy = OutboundPolicy(resolver=resolver_to(PUBLIC))
    assert check_url("https://hooks.slack.com/services/T0/B0/secret", policy, slack=True).address == PUBLIC
    for url in ("https://hooks.example.com/services/T0/B0/x", "https://hooks.slack.com/workflows/x"):
        with pytest.raises(RefusedDestination, match="hooks.slack.com/services/"):
            check_url(url, policy, slack=True)
    assert check_url("https://hooks.example.com/anything", policy).host == "hooks.example.com"


def test_secret_paths_stay_out_of_errors_and_reprs() -> None:
    policy = OutboundPolicy(resolver=resolver_to("10.1.2.3"))
    delivery = post_json("https://hooks.slack.com/services/T0/B0/s3cr3t?k=q1", BODY, {}, policy, slack=True)
    assert delivery.error.startswith("refused: hooks.slack.com resolves to 10.1.2.3")
    assert "s3cr3t" not in delivery.error and "q1" not in delivery.error
    public = OutboundPolicy(resolver=resolver_to(PUBLIC))
    target = check_url("https://hooks.slack.com/services/T0/B0/s3cr3t", public)
    assert target.path == "/services/T0/B0/s3cr3t"
    assert "s3cr3t" not in repr(target)


def test_unresolvable_names_are_not_reported_as_refusals() -> None:
    delivery = post_json("https://gone.example.test/x", BODY, {}, OutboundPolicy(resolver=resolver_to()))
    assert delivery.error == "gone.example.test could not be resolved"
    with pytest.raises(RefusedDestination, match="could not be resolved"):
        check_url("https://gone.example.test/x", OutboundPolicy(resolver=resolver_to()))


def test_public_addresses_pass_and_mapped_ones_are_judged_by_their_ipv4() -> None:
    for address in (PUBLIC, "2606:4700::6810:84e5", "::ffff:93.184.216.34"):
        assert refusal_reason(address) == ""
    assert refusal_reason("127.0.0.1", allow_loopback=True) == ""
    assert refusal_reason("10.0.0.1", allow_loopback=True) == "a private address"
    assert refusal_reason("2002:a00:1::") == "a private address (10.0.0.1, via 6to4)"


def test_targets_keep_the_name_for_host_headers_and_the_checked_address_for_connecting() -> None:
    policy = OutboundPolicy(resolver=resolver_to("2606:4700::6810:84e5"))
    target = check_url("https://B\u00fccher.Example/in?x=1#frag", policy)
    assert (target.host, target.port, target.path) == ("xn--bcher-kva.example", 443, "/in?x=1")
    assert (target.address, target.host_header) == ("2606:4700::6810:84e5", "xn--bcher-kva.example")
    literal = check_url("https://[2606:4700:0::6810:84E5]/", policy)
    assert literal.host_header == "[2606:4700::6810:84e5]"
    local = check_url("http://[::1]:8080/x", LOCAL)
    assert (local.address, local.host_header) == ("::1", "[::1]:8080")
    assert check_url("http://127.0.0.1/x", LOCAL).host_header == "127.0.0.1"


# --- delivered over the local-development exception ----------------------------------------------------


def test_post_reaches_the_local_hook_with_headers_and_body(serve: Callable[..., Server]) -> None:
    server = serve()
    url = f"http://127.0.0.1:{server.port}/hook?team=7"
    headers = {"AICosts-Signature": "t=1,v1=ab", "Host": "evil.example", "User-Agent": "spoofed"}
    delivery = post_json(url, BODY, headers, LOCAL)
    assert (delivery.ok, delivery.status_code, delivery.error) == (True, 200, "")
    assert delivery.duration_ms >= 0
    [request] = server.requests
    assert request["path"] == "/hook?team=7"
    assert request["body"] == BODY
    sent = request["headers"]
    assert sent["AICosts-Signature"] == "t=1,v1=ab"
    assert sent["Content-Type"] == "application/json"
    assert sent["User-Agent"] == "AICosts-Alerts/1"
    assert sent["Host"] == f"127.0.0.1:{server.port}"


def test_local_exception_admits_slack_shaped_paths_for_tests(serve: Callable[..., Server]) -> None:
    server = serve()
    delivery = post_json(f"http://127.0.0.1:{server.port}/services/T/B/X", BODY, {}, LOCAL, slack=True)
    assert delivery.ok and len(server.requests) == 1


def test_redirects_are_reported_not_followed(serve: Callable[..., Server]) -> None:
    elsewhere = serve()
    server = serve("redirect", location=f"http://127.0.0.1:{elsewhere.port}/stolen")
    delivery = post_json(f"http://127.0.0.1:{server.port}/hook", BODY, {}, LOCAL)
    assert (delivery.ok, delivery.status_code) == (False, 302)
    assert delivery.error == "redirect not followed (302)"
    assert len(server.requests) == 1 and elsewhere.requests == []


def test_server_error_is_not_ok(serve: Callable[..., Server]) -> None:
    server = serve("error")
    delivery = post_json(f"http://127.0.0.1:{server.port}/hook", BODY, {}, LOCAL)
    assert (delivery.ok, delivery.status_code, delivery.error) == (False, 500, "")


def test_a_silent_server_times_out_within_the_read_timeout(serve: Callable[..., Server]) -> None:
    server = serve("hang")
    policy = OutboundPolicy(allow_local_http=True, connect_timeout_s=1, read_timeout_s=0.3)
    delivery = post_json(f"http://127.0.0.1:{server.port}/hook", BODY, {}, policy)
    assert (delivery.ok, delivery.status_code) == (False, None)
    assert delivery.error == "timed out after 0.3 s"
    assert 250 <= delivery.duration_ms < 2000
    assert len(server.requests) == 1


def test_a_trickling_server_is_cut_off_at_the_attempts_deadline(serve: Callable[..., Server]) -> None:
    server = serve("trickle")
    policy = OutboundPolicy(allow_local_http=True, connect_timeout_s=1, read_timeout_s=1, attempt_s=1.5)
    delivery = post_json(f"http://127.0.0.1:{server.port}/hook", BODY, {}, policy)
    assert (delivery.ok, delivery.status_code) == (False, None)
    assert delivery.error == "timed out after 1.5 s"
    assert 1400 <= delivery.duration_ms < 3000


def test_a_name_server_that_does_not_answer_fails_the_lookup_in_time() -> None:
    release = threading.Event()

    def stuck(host: str, port: int) -> list[str]:
        release.wait(10)
        return ["93.184.216.34"]

    policy = OutboundPolicy(resolver=stuck, resolve_s=0.3)
    try:
        delivery = post_json("https://hooks.example.com/x", BODY, {}, policy)
    finally:
        release.set()
    assert (delivery.ok, delivery.status_code) == (False, None)
    assert delivery.error == "hooks.example.com did not resolve within 0.3 s"
    assert delivery.duration_ms < 2000


def test_a_huge_answer_is_read_only_up_to_the_cap(serve: Callable[..., Server]) -> None:
    # The server sends 4 x the cap and then holds back the rest of its promised 100 MB: reading past the
    # cap would wait for the read timeout (3 s) instead of returning at once.
    server = serve("huge")
    policy = OutboundPolicy(allow_local_http=True, connect_timeout_s=1, read_timeout_s=3)
    delivery = post_json(f"http://127.0.0.1:{server.port}/hook", BODY, {}, policy)
    assert (delivery.ok, delivery.status_code, delivery.error) == (True, 200, "")
    assert delivery.duration_ms < 1500


def test_urllib3_logs_nothing_of_a_secret_path(
    serve: Callable[..., Server], caplog: pytest.LogCaptureFixture
) -> None:
    server = serve("redirect", location="https://elsewhere.example.test/")
    # urllib3's own level too: the services' log setup (svccommon.logs) quiets it to WARNING.
    with caplog.at_level(logging.DEBUG), caplog.at_level(logging.DEBUG, logger="urllib3"):
        delivery = post_json(f"http://127.0.0.1:{server.port}/services/T/B/s3cr3t", BODY, {}, LOCAL)
        logging.getLogger("urllib3.connectionpool").debug("outside a delivery: %s", "still logged")
    assert delivery.status_code == 302 and server.requests[0]["path"] == "/services/T/B/s3cr3t"
    assert "s3cr3t" not in caplog.text
    assert "outside a delivery: still logged" in caplog.text


def test_nothing_listening_is_connection_refused() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    delivery = post_json(f"http://127.0.0.1:{port}/services/T/B/s3cr3t", BODY, {}, LOCAL)
    assert (delivery.ok, delivery.status_code, delivery.error) == (False, None, "connection refused")


# --- the pinned HTTPS path ---------------------------------------------------------------------------


def self_signed(tmp_path: Path, name: str) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / f"{name}.crt", tmp_path / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


def tls_policy(cert: Path, calls: list[str]) -> OutboundPolicy:
    return OutboundPolicy(
        resolver=resolver_to("127.0.0.1", calls=calls),
        ca_file=str(cert),
        allow_loopback_for_tests=True,
        connect_timeout_s=1,
        read_timeout_s=2,
    )


def test_https_goes_to_the_checked_address_with_the_name_for_sni_host_and_certificate(
    serve: Callable[..., Server], tmp_path: Path
) -> None:
    cert, key = self_signed(tmp_path, "hooks.example.test")
    server = serve(tls=(cert, key))
    calls: list[str] = []
    url = f"https://hooks.example.test:{server.port}/in"
    delivery = post_json(url, BODY, {"AICosts-Signature": "t=1,v1=ab"}, tls_policy(cert, calls))
    assert (delivery.ok, delivery.status_code, delivery.error) == (True, 200, "")
    assert calls == ["hooks.example.test"]  # resolved once: the connection used that answer
    assert server.sni == ["hooks.example.test"]
    [request] = server.requests
    assert request["headers"]["Host"] == f"hooks.example.test:{server.port}"
    assert request["body"] == BODY and request["path"] == "/in"


def test_https_refuses_a_certificate_for_another_name(serve: Callable[..., Server], tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path, "other.example.test")
    server = serve(tls=(cert, key))
    url = f"https://hooks.example.test:{server.port}/in"
    delivery = post_json(url, BODY, {}, tls_policy(cert, []))
    assert (delivery.ok, delivery.status_code, delivery.error) == (False, None, "TLS error")
    assert server.requests == []


def test_https_refuses_an_untrusted_certificate(serve: Callable[..., Server], tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path, "hooks.example.test")
    server = serve(tls=(cert, key))
    (tmp_path / "stranger").mkdir()
    stranger, _ = self_signed(tmp_path / "stranger", "hooks.example.test")  # same name, another key
    delivery = post_json(f"https://hooks.example.test:{server.port}/in", BODY, {}, tls_policy(stranger, []))
    assert (delivery.ok, delivery.error) == (False, "TLS error")
    assert server.requests == []
