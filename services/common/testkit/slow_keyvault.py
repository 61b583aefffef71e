"""A keyvault-like gRPC server that answers late on purpose: the calls a sync makes to keyvault
(GetCredential, RevealCredential, UpdateCredentialStatus) served from memory, the first N calls
of a method held ``delay_s`` before answering. Tests point the usage service's real keyvault
client (usage.clients.keyvault_credentials) at it to see a slow reveal over a real channel.

    with SlowKeyvault() as kv:
        kv.add(account, credential, "openai", api_key)
        kv.slow("RevealCredential", times=2, delay_s=1.0)
"""

from __future__ import annotations

import threading
from concurrent import futures
from dataclasses import dataclass, field
from typing import Self

import grpc
from aicosts.keyvault.v1 import keyvault_pb2 as kv
from aicosts.keyvault.v1 import keyvault_pb2_grpc


@dataclass
class StoredKey:
    platform: str
    api_key: str
    status: str = "active"
    status_message: str = ""
    last_sync_at: float | None = None
    updates: list[str] = field(default_factory=list)  # the statuses written, in order


class SlowKeyvault(keyvault_pb2_grpc.KeyVaultServiceServicer):
    def __init__(self) -> None:
        self.keys: dict[tuple[str, str], StoredKey] = {}
        self.calls: list[tuple[str, bool]] = []  # (method, answered late)
        self._slow: dict[str, tuple[int, float]] = {}  # method -> (calls left to delay, seconds)
        self._lock = threading.Lock()
        self._release = threading.Event()  # set on stop: no held call outlives the server
        self._server: grpc.Server | None = None
        self.address = ""

    def add(self, account_id: str, credential_id: str, platform: str, api_key: str) -> None:
        self.keys[(account_id, credential_id)] = StoredKey(platform, api_key)

    def slow(self, method: str, *, times: int | None, delay_s: float) -> None:
        """Hold the next ``times`` calls of ``method`` (None: every call) ``delay_s`` seconds."""
        with self._lock:
            self._slow[method] = (-1 if times is None else times, delay_s)

    def count(self, method: str) -> int:
        return sum(1 for m, _ in self.calls if m == method)

    # lifecycle -----------------------------------------------------------------
    def start(self) -> Self:
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
        keyvault_pb2_grpc.add_KeyVaultServiceServicer_to_server(self, self._server)
        port = self._server.add_insecure_port("127.0.0.1:0")
        self._server.start()
        self.address = f"127.0.0.1:{port}"
        return self

    def stop(self) -> None:
        self._release.set()
        if self._server is not None:
            self._server.stop(grace=0).wait()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # the three methods a sync calls ---------------------------------------------------
    def GetCredential(self, request, context):  # noqa: ANN001, ANN201, N802 - generated names
        key = self._answer("GetCredential", request, context)
        credential = kv.Credential(id=request.credential_id, platform=key.platform, status=key.status)
        return kv.GetCredentialResponse(credential=credential)

    def RevealCredential(self, request, context):  # noqa: ANN001, ANN201, N802
        key = self._answer("RevealCredential", request, context)
        return kv.RevealCredentialResponse(platform=key.platform, api_key=key.api_key)

    def UpdateCredentialStatus(self, request, context):  # noqa: ANN001, ANN201, N802
        key = self._answer("UpdateCredentialStatus", request, context)
        # Applied even when the answer comes too late for the caller, as a busy keyvault would.
        key.status, key.status_message = request.status, request.status_message
        if request.HasField("last_sync_at"):
            key.last_sync_at = request.last_sync_at.ToDatetime().timestamp()
        key.updates.append(request.status)
        credential = kv.Credential(id=request.credential_id, platform=key.platform, status=key.status)
        return kv.UpdateCredentialStatusResponse(credential=credential)

    def _answer(self, method: str, request, context) -> StoredKey:  # noqa: ANN001
        with self._lock:
            left, delay = self._slow.get(method, (0, 0.0))
            late = left != 0
            if left > 0:
                self._slow[method] = (left - 1, delay)
            self.calls.append((method, late))
        if late:
            self._release.wait(delay)
        key = self.keys.get((request.account_id, request.credential_id))
        if key is None:
            context.abort(grpc.StatusCode.NOT_FOUND, "credential not found")
        return key
