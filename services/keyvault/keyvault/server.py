"""Wiring only: which servicers this process serves and which services may call each method."""

from __future__ import annotations

from aicosts.keyvault.v1 import keyvault_pb2, keyvault_pb2_grpc
from pymongo.database import Database
from svccommon.accountinfo import AccountInfo
from svccommon.audit_service import audit_binding, open_audit_log
from svccommon.grpcserver import ServiceBinding
from svccommon.interceptors import ANY_SERVICE

from keyvault import policy
from keyvault.config import Config
from keyvault.credentials import CredentialVault
from keyvault.keys import KeyringSource
from keyvault.secretbox import SecretBox
from keyvault.service import KeyVaultServicer
from keyvault.store import CredentialStore

SERVICE = keyvault_pb2.DESCRIPTOR.services_by_name["KeyVaultService"].full_name


def allowlist() -> dict[str, tuple[str, ...]]:
    rules: dict[str, tuple[str, ...]] = {f"/{SERVICE}/GetServiceInfo": (ANY_SERVICE,)}
    rules.update({f"/{SERVICE}/{method}": callers for method, callers in policy.METHOD_CALLERS.items()})
    # Admitted here for every AICosts identity; the servicer refuses (and audits) the wrong ones.
    rules.update({f"/{SERVICE}/{method}": (ANY_SERVICE,) for method in policy.AUDITED_METHODS})
    return rules


def bindings(cfg: Config, db: Database) -> list[ServiceBinding]:
    keys = KeyringSource(cfg.keyring_file, create=cfg.create_keyring)
    store = CredentialStore(db)
    store.ensure_indexes()
    audit = open_audit_log(db, cfg.common)
    accounts = AccountInfo.connect(cfg.auth_addr, cfg.common.tls)  # no stand-in: auth decides
    servicer = KeyVaultServicer(
        cfg,
        CredentialVault(
            store, keys, audit, cfg.max_credentials_per_account, standing_of=accounts.standing_of
        ),
        SecretBox(store, keys, audit),
    )
    return [
        audit_binding(audit),
        ServiceBinding(
            full_name=SERVICE,
            register=lambda server: keyvault_pb2_grpc.add_KeyVaultServiceServicer_to_server(servicer, server),
            allowlist=allowlist(),
        ),
    ]
