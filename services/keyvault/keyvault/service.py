"""gRPC servicer for aicosts.keyvault.v1: translates protos to domain calls.

The caller is read from the verified mTLS peer certificate here too (the interceptor has
already admitted it), because reveal and the secret methods decide per caller."""

from __future__ import annotations

import datetime as dt

import grpc
from aicosts.keyvault.v1 import keyvault_pb2 as pb
from aicosts.keyvault.v1 import keyvault_pb2_grpc
from svccommon.errors import InvalidArgument, Unauthenticated
from svccommon.identity import peer_identity
from svccommon.pbtime import timestamp
from svccommon.runner import info_response

from keyvault.config import Config
from keyvault.credentials import CredentialVault
from keyvault.secretbox import SecretBox, SecretRef
from keyvault.store import CredentialRecord


def credential_pb(record: CredentialRecord) -> pb.Credential:
    return pb.Credential(
        id=record.id,
        account_id=record.account_id,
        platform=record.platform,
        label=record.label,
        last4=record.last4,
        status=record.status,
        status_message=record.status_message,
        created_at=timestamp(record.created_at),
        last_used_at=timestamp(record.last_used_at),
        last_sync_at=timestamp(record.last_sync_at),
        key_version=record.key_version,
    )


class KeyVaultServicer(keyvault_pb2_grpc.KeyVaultServiceServicer):
    def __init__(self, cfg: Config, vault: CredentialVault, box: SecretBox) -> None:
        self.cfg = cfg
        self.vault = vault
        self.box = box

    def _caller(self, context: grpc.ServicerContext) -> str:
        identity = peer_identity(context, self.cfg.common.trust_domain)
        if identity is None:  # the interceptor refuses these first; never trust a default
            raise Unauthenticated("a valid client certificate is required")
        return identity

    def GetServiceInfo(self, request, context):  # noqa: N802 (gRPC method names)
        return info_response(self.cfg.common)

    # --- credentials -----------------------------------------------------------

    def StoreCredential(self, request, context):  # noqa: N802
        record = self.vault.store_key(
            self._caller(context),
            request.account_id,
            request.platform,
            request.api_key,
            request.label,
            fields=dict(request.fields) or None,
        )
        return pb.StoreCredentialResponse(credential=credential_pb(record))

    def ListCredentials(self, request, context):  # noqa: N802
        records = self.vault.of_account(request.account_id)
        return pb.ListCredentialsResponse(credentials=[credential_pb(r) for r in records])

    def GetCredential(self, request, context):  # noqa: N802
        record = self.vault.get(request.account_id, request.credential_id)
        return pb.GetCredentialResponse(credential=credential_pb(record))

    def DeleteCredential(self, request, context):  # noqa: N802
        self.vault.delete(self._caller(context), request.account_id, request.credential_id)
        return pb.DeleteCredentialResponse()

    def UpdateCredentialStatus(self, request, context):  # noqa: N802
        last_sync = request.last_sync_at.ToDatetime(dt.UTC) if request.HasField("last_sync_at") else None
        record = self.vault.update_status(
            request.account_id, request.credential_id, request.status, request.status_message, last_sync
        )
        return pb.UpdateCredentialStatusResponse(credential=credential_pb(record))

    def RevealCredential(self, request, context):  # noqa: N802
        platform, api_key = self.vault.reveal(
            self._caller(context), request.account_id, request.credential_id
        )
        return pb.RevealCredentialResponse(platform=platform, api_key=api_key)

    def ListCredentialChanges(self, request, context):  # noqa: N802
        after = None
        if request.HasField("after_changed_at"):
            after = (request.after_changed_at.ToDatetime(dt.UTC), request.after_credential_id)
        changes = self.vault.changes(after, request.limit)
        return pb.ListCredentialChangesResponse(
            changes=[
                pb.CredentialChange(
                    credential_id=c.id,
                    account_id=c.account_id,
                    platform=c.platform,
                    created_at=timestamp(c.created_at),
                    deleted=c.deleted,
                    changed_at=timestamp(c.changed_at),
                )
                for c in changes
            ]
        )

    # --- generic secrets -------------------------------------------------------

    def _ref(self, request, context) -> SecretRef:  # noqa: ANN001
        return SecretRef(self._caller(context), request.account_id, request.purpose, request.record_id)

    def EncryptSecret(self, request, context):  # noqa: N802
        ciphertext, version = self.box.encrypt(self._ref(request, context), request.plaintext)
        return pb.EncryptSecretResponse(ciphertext=ciphertext, key_version=version)

    def DecryptSecret(self, request, context):  # noqa: N802
        plaintext, version, current = self.box.decrypt(self._ref(request, context), request.ciphertext)
        return pb.DecryptSecretResponse(plaintext=plaintext, key_version=version, current_key_version=current)

    def RewrapSecret(self, request, context):  # noqa: N802
        ciphertext, version = self.box.rewrap(self._ref(request, context), request.ciphertext)
        return pb.RewrapSecretResponse(ciphertext=ciphertext, key_version=version)

    def StartSecretCensus(self, request, context):  # noqa: N802
        started_at = self.box.start_census(self._caller(context), request.purpose)
        return pb.StartSecretCensusResponse(started_at=timestamp(started_at))

    def FinishSecretCensus(self, request, context):  # noqa: N802
        if not request.HasField("started_at"):
            raise InvalidArgument("started_at is required (as StartSecretCensus returned it)")
        started_at = request.started_at.ToDatetime(tzinfo=dt.UTC)
        counts = {int(v): int(n) for v, n in request.records_by_key_version.items()}
        self.box.finish_census(self._caller(context), request.purpose, started_at, counts)
        return pb.FinishSecretCensusResponse()
