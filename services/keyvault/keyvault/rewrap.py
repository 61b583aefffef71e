"""The rewrap job: re-encrypt every stored credential under the keyring's current version.

Plaintext exists only inside crypto.rewrap for one record at a time; it is never returned,
logged or printed. Each record is replaced with a compare-and-set on its old ciphertext, so a
credential deleted or changed meanwhile is skipped, never overwritten.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from keyvault import crypto, policy
from keyvault.crypto import Context, DecryptionError
from keyvault.keyring import Keyring, KeyVersionRetired, UnknownKeyVersion
from keyvault.store import CredentialStore

log = logging.getLogger(__name__)


@dataclass
class RewrapReport:
    current_version: int
    rewrapped: int = 0
    skipped: int = 0  # deleted or changed while the job ran
    failed: dict[str, str] = field(default_factory=dict)  # credential id → reason (no secrets)


def rewrap_credentials(store: CredentialStore, ring: Keyring) -> RewrapReport:
    report = RewrapReport(current_version=ring.current_version)
    for credential_id in store.stale_ids(ring.current_version):
        record = store.get(credential_id)
        if record is None or record.key_version == ring.current_version:
            report.skipped += 1
            continue
        context = Context(record.account_id, record.id, record.platform, policy.CREDENTIAL_PURPOSE)
        try:
            fresh = crypto.rewrap(ring, context, record.ciphertext)
        except KeyVersionRetired:
            report.failed[record.id] = f"key version {record.key_version} is retired"
            continue
        except UnknownKeyVersion:
            report.failed[record.id] = f"key version {record.key_version} is not in the keyring"
            continue
        except DecryptionError:
            report.failed[record.id] = "ciphertext does not decrypt (damaged or moved record)"
            continue
        if store.replace_ciphertext(record, fresh, ring.current_version):
            report.rewrapped += 1
        else:
            report.skipped += 1
    log.info(
        "rewrap finished",
        extra={
            "current_version": report.current_version,
            "rewrapped": report.rewrapped,
            "skipped": report.skipped,
            "failed": len(report.failed),
        },
    )
    return report
