"""Development secrets, generated once under var/secrets (ignored by git), never committed."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from svccommon.services import ALL_IDENTITIES

from devstack import certs


def ensure_jwt_keys(private_path: Path, public_path: Path) -> None:
    """Ed25519 signing key for auth alone; the gateway gets only the public half."""
    if private_path.exists() and public_path.exists():
        return
    key = Ed25519PrivateKey.generate()
    private_path.parent.mkdir(parents=True, exist_ok=True)
    private_path.touch(mode=0o600, exist_ok=True)
    private_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    public_path.parent.mkdir(parents=True, exist_ok=True)
    public_path.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


def ensure_keyring(path: Path) -> None:
    # The keyvault package owns the keyring format; devstack only asks it to create one.
    from keyvault import keyring

    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        keyring.generate_new_file(path)


def ensure_all(secrets_dir: Path, trust_domain: str) -> dict[str, Path]:
    """Create whatever is missing; return the paths the services are configured with."""
    tls_dir = secrets_dir / "tls"
    tls_dir.mkdir(parents=True, exist_ok=True)
    ca = certs.ensure_ca(tls_dir)
    for name in ALL_IDENTITIES:
        certs.issue(tls_dir, name, trust_domain, ca)
    paths = {
        "tls_dir": tls_dir,
        "keyring": secrets_dir / "keyvault" / "keyring.json",
        "jwt_private": secrets_dir / "auth" / "jwt_signing_key.pem",
        "jwt_public": secrets_dir / "gateway" / "jwt_public_key.pem",
    }
    ensure_jwt_keys(paths["jwt_private"], paths["jwt_public"])
    ensure_keyring(paths["keyring"])
    return paths
