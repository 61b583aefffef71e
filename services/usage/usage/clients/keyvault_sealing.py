"""Destination secrets (a webhook's URL and signing secret, a Slack URL) sealed by the keyvault
under the purpose "alert_destination", bound to the account and the destination id. Usage keeps
only the ciphertext. After a key rotation, rewrap() and the census calls let `python -m
usage.alerts.rewrap` move every destination to the current key version (see that module)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping

from svccommon.config import TlsFiles
from svccommon.sealing import KeyvaultSealer

PURPOSE = "alert_destination"
UNAVAILABLE = "the key store did not answer; try again shortly"


class DestinationSecrets:
    """svccommon.sealing for destination secrets: a JSON document, the record is the destination."""

    def __init__(self, sealer: KeyvaultSealer) -> None:
        self.sealer = sealer

    @classmethod
    def connect(cls, address: str, tls: TlsFiles, timeout_s: float = 5.0) -> DestinationSecrets:
        return cls(KeyvaultSealer.connect(address, tls, PURPOSE, UNAVAILABLE, timeout_s))

    def seal(self, account_id: str, destination_id: str, secret: dict[str, str]) -> bytes:
        return self.sealer.seal(account_id, destination_id, json.dumps(secret).encode())

    def open(self, account_id: str, destination_id: str, sealed: bytes) -> tuple[dict[str, str], bool]:
        """The secret, and whether it is sealed under an older key version (re-seal it)."""
        plaintext, stale = self.sealer.open(account_id, destination_id, sealed)
        return json.loads(plaintext), stale

    def rewrap(self, account_id: str, destination_id: str, sealed: bytes) -> bytes:
        """The same secret sealed under the current key version; usage never sees the plaintext."""
        return self.reseal(account_id, destination_id, sealed)[0]

    def reseal(self, account_id: str, destination_id: str, sealed: bytes) -> tuple[bytes, int]:
        """rewrap(), and the key version the new ciphertext is sealed under (for the census)."""
        return self.sealer.reseal(account_id, destination_id, sealed)

    def start_census(self) -> dt.datetime:
        """Keyvault's clock at the start of a census of every destination secret."""
        return self.sealer.start_census()

    def finish_census(self, started_at: dt.datetime, by_version: Mapping[int, int]) -> None:
        """How many destination secrets usage holds under each key version, all rewrapped since
        `started_at`: keyvault then forgets the versions seen in use before it."""
        self.sealer.finish_census(started_at, by_version)

    def close(self) -> None:
        self.sealer.close()
