"""Figure 3: RevealCredential over mTLS gRPC as the usage identity (keyvault reads the record,
decrypts it, marks it used and writes an audit entry), 1 and 8 concurrent callers, against the
same decrypt in-process (keyvault.crypto.unseal with the stack's own keyring), same concurrency."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import grpc
from aicosts.keyvault.v1 import keyvault_pb2 as kv
from aicosts.keyvault.v1 import keyvault_pb2_grpc as kv_grpc
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from devstack import certs
from keyvault import crypto, keyring, policy
from svccommon.config import TlsFiles
from svccommon.tls import channel_credentials

from bench import stats
from bench.harness import Bench, new_account
from bench.report import Figure, check

CONCURRENCY = (1, 8)
DURATION_S = 4.0
BASELINE_DURATION_S = 1.5
API_KEY = "sk-admin-bench-reveal-0123456789abcdef"


def identity(bench: Bench, name: str) -> TlsFiles:
    """A client certificate for `name`, signed by the stack's development CA."""
    out = bench.stack.var_dir / "bench-identities"
    out.mkdir(exist_ok=True)
    tls = bench.tls_dir
    ca_cert = x509.load_pem_x509_certificate((tls / "ca.crt").read_bytes())
    ca_key = serialization.load_pem_private_key((tls / "ca.key").read_bytes(), password=None)
    certs.issue(out, name, "aicosts.local", (ca_cert, ca_key), overwrite=True)  # type: ignore[arg-type]
    return TlsFiles(ca=tls / "ca.crt", cert=out / f"{name}.crt", key=out / f"{name}.key")


def _stub(bench: Bench, files: TlsFiles) -> kv_grpc.KeyVaultServiceStub:
    target = f"127.0.0.1:{bench.stack.ports['keyvault']}"
    return kv_grpc.KeyVaultServiceStub(grpc.secure_channel(target, channel_credentials(files)))


def run(bench: Bench) -> list[Figure]:
    account = new_account(bench, "keyvault")
    # Stored as the gateway does (over gRPC, so no backfill starts and nothing else runs meanwhile).
    stored = _stub(bench, identity(bench, "gateway")).StoreCredential(
        kv.StoreCredentialRequest(
            account_id=account.account_id,
            platform="openai",
            api_key=API_KEY,
            label="bench",  # keyvault asks auth: the bench account is verified, on Free, with no key yet
        ),
        timeout=10,
    )
    credential_id = stored.credential.id
    usage = _stub(bench, identity(bench, "usage"))
    request = kv.RevealCredentialRequest(account_id=account.account_id, credential_id=credential_id)

    def reveal() -> bool:
        reply = usage.RevealCredential(request, timeout=10)
        return reply.api_key == API_KEY and reply.platform == "openai"

    check(reveal(), "RevealCredential did not return the stored key")
    unseal = _in_process(bench, account.account_id, credential_id)
    check(unseal(), "in-process unseal did not return the stored key")
    figures = []
    for workers in CONCURRENCY:
        load = stats.closed_loop(lambda: reveal, workers, DURATION_S)
        base = stats.closed_loop(lambda: unseal, workers, BASELINE_DURATION_S)
        check(
            load.errors == 0 and base.errors == 0, f"{load.errors} reveals, {base.errors} unseals went wrong"
        )
        check(load.ops > 0, "no reveal finished")
        figures.append(
            Figure(
                f"keyvault_reveal_c{workers}",
                load.per_second,
                "ops/s",
                baseline=base.per_second,
                baseline_name="keyvault.crypto.unseal in-process with the same keyring and blob",
                higher_is_better=True,
                p50_ms=load.p50_ms(),
                p99_ms=load.p99_ms(),
                samples=load.ops,
                extra={"errors": load.errors, "baseline_p99_ms": round(base.p99_ms(), 4)},
            )
        )
    return figures


def _in_process(bench: Bench, account_id: str, credential_id: str) -> Callable[[], bool]:
    doc = bench.mongo["aicosts_keyvault"]["credentials"].find_one({"_id": credential_id})
    check(doc is not None, "the stored credential is not in keyvault's database")
    ring = keyring.load(Path(bench.stack.var_dir / "secrets" / "keyvault" / "keyring.json"))
    context = crypto.Context(account_id, credential_id, doc["platform"], policy.CREDENTIAL_PURPOSE)
    blob = bytes(doc["ciphertext"])
    return lambda: crypto.unseal(ring, context, blob) == API_KEY.encode()
