"""Latency of the paths an attacker could compare to find accounts (docs/security.md: nobody
learns who has an account): sign-in with an unknown email vs a wrong password, and a reset
request for an unknown vs a known email. Prints p50/p95 per path and whether the p95s are
within 10% of each other.

    python bench/auth_enumeration.py              # starts its own stack (embedded database)
    python bench/auth_enumeration.py --rounds 100
    python bench/auth_enumeration.py --base-url http://127.0.0.1:8080   # an already running stack

The own stack runs the default bcrypt cost (12) with the failure limits raised, so the benchmark
measures the work, not the 429s. Against another stack, keep --rounds under its limits.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import requests

# Repeated failures from one address are the point here, so the throttles must not answer first.
BENCH_ENV = {
    "AUTH_LOGIN_FREE_FAILURES": "100",
    "AUTH_LOGIN_NETWORK_FREE_FAILURES": "100000",
    "AUTH_RESET_NETWORK_MAX": "100000",
    "AUTH_SIGNUP_NETWORK_MAX": "100000",
}


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def timed(call: Callable[[], requests.Response], expected: int) -> float:
    started = time.perf_counter()
    response = call()
    elapsed = time.perf_counter() - started
    if response.status_code != expected:
        raise SystemExit(f"unexpected {response.status_code}: {response.text[:200]}")
    return elapsed * 1000


def compare(title: str, paths: dict[str, Callable[[], float]], rounds: int) -> None:
    samples: dict[str, list[float]] = {name: [] for name in paths}
    for warm_up in paths.values():  # connections, caches
        warm_up()
    for _ in range(rounds):
        for name, run in paths.items():  # interleaved, so drift hits both paths alike
            samples[name].append(run())
    print(f"\n{title} ({rounds} rounds)")
    p95s = []
    for name, values in samples.items():
        p50, p95 = statistics.median(values), percentile(values, 0.95)
        p95s.append(p95)
        print(f"  {name:<28} p50 {p50:8.1f} ms   p95 {p95:8.1f} ms")
    spread = (max(p95s) - min(p95s)) / max(p95s) * 100
    print(f"  p95 difference: {spread:.1f}%  ({'within' if spread <= 10 else 'OUTSIDE'} the 10% target)")


def run(base_url: str, rounds: int) -> None:
    http = requests.Session()
    email, password = f"bench-{uuid.uuid4().hex[:10]}@example.com", f"Bench-{uuid.uuid4().hex}"
    signup = http.post(
        f"{base_url}/v1/auth/signup", json={"email": email, "password": password, "name": "Bench"}
    )
    if signup.status_code != 202:
        raise SystemExit(f"signup failed: {signup.status_code} {signup.text[:200]}")

    def login(address: str) -> Callable[[], float]:
        body = {"email": address, "password": "Not-the-password-1"}
        return lambda: timed(lambda: http.post(f"{base_url}/v1/auth/login", json=body), 401)

    def reset(address: str) -> Callable[[], float]:
        return lambda: timed(
            lambda: http.post(f"{base_url}/v1/auth/password-reset", json={"email": address}), 202
        )

    unknown = f"nobody-{uuid.uuid4().hex[:10]}@example.com"
    compare("Sign-in failures", {"wrong password": login(email), "unknown email": login(unknown)}, rounds)
    compare("Password-reset requests", {"known email": reset(email), "unknown email": reset(unknown)}, rounds)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--base-url", help="benchmark a running gateway instead of starting a stack")
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()
    if args.base_url:
        run(args.base_url.rstrip("/"), args.rounds)
        return
    from devstack.launcher import make_stack  # the same code path as `make run`

    with tempfile.TemporaryDirectory(prefix="aicosts-bench-") as tmp:
        stack = make_stack(Path(tmp) / "var", BENCH_ENV)
        stack.start()
        try:
            stack.wait_ready()
            run(stack.base_url, args.rounds)
        finally:
            stack.stop()


if __name__ == "__main__":
    main()
