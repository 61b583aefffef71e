"""Schema-check rendered Kubernetes manifests offline (used by k8s/check.sh).

kubernetes-validate alone lets unknown kinds (CRDs, removed APIs) pass with a warning.
This wrapper fails on them, except for the custom resources listed in CRD_SCHEMAS, which
are checked against a small hand-written schema of the fields this project uses
(unknown fields rejected, like --strict does for built-in kinds).

usage: python k8s/validate.py [--k8s-version 1.32] FILE.yaml [FILE.yaml ...]
exit 0 = every document valid, 1 = at least one invalid, 2 = usage or environment error
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

try:
    import jsonschema
    import kubernetes_validate
    import yaml
    from kubernetes_validate import utils as kv_utils
except ImportError as exc:  # pragma: no cover - environment problem, not a manifest problem
    print(
        f"validate.py: missing dependency ({exc}); pip install 'kubernetes-validate==1.37.0'", file=sys.stderr
    )
    sys.exit(2)

DEFAULT_K8S_VERSION = "1.32"

_OBJECT_META = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"},
        "namespace": {"type": "string"},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
    },
    "additionalProperties": False,
}
_ISSUER_REF = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {"type": "string"},
        "kind": {"enum": ["Issuer", "ClusterIssuer"]},
        "group": {"type": "string"},
    },
    "additionalProperties": False,
}
_DURATION = {"type": "string", "pattern": r"^([0-9]+(\.[0-9]+)?(h|m|s|ms))+$"}
_KEY_USAGES = [
    "signing",
    "digital signature",
    "content commitment",
    "key encipherment",
    "key agreement",
    "data encipherment",
    "cert sign",
    "crl sign",
    "encipher only",
    "decipher only",
    "any",
    "server auth",
    "client auth",
    "code signing",
    "email protection",
    "s/mime",
    "ipsec end system",
    "ipsec tunnel",
    "ipsec user",
    "timestamping",
    "ocsp signing",
    "microsoft sgc",
    "netscape sgc",
]


def _top(spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": _OBJECT_META,
            "spec": spec,
        },
        "additionalProperties": False,
    }


# Subsets of the cert-manager v1 CRD schemas (fields and enums as in cert-manager's CRDs).
CRD_SCHEMAS: dict[tuple[str, str], dict[str, Any]] = {
    ("cert-manager.io/v1", "Certificate"): _top(
        {
            "type": "object",
            "required": ["secretName", "issuerRef"],
            "properties": {
                "secretName": {"type": "string"},
                "issuerRef": _ISSUER_REF,
                "commonName": {"type": "string"},
                "isCA": {"type": "boolean"},
                "duration": _DURATION,
                "renewBefore": _DURATION,
                "dnsNames": {"type": "array", "items": {"type": "string"}},
                "uris": {"type": "array", "items": {"type": "string", "pattern": "^[a-z][a-z0-9+.-]*://"}},
                "usages": {"type": "array", "items": {"enum": _KEY_USAGES}},
                "privateKey": {
                    "type": "object",
                    "properties": {
                        "algorithm": {"enum": ["RSA", "ECDSA", "Ed25519"]},
                        "size": {"type": "integer"},
                        "encoding": {"enum": ["PKCS1", "PKCS8"]},
                        "rotationPolicy": {"enum": ["Never", "Always"]},
                    },
                    "additionalProperties": False,
                },
            },
            "additionalProperties": False,
        }
    ),
    ("cert-manager.io/v1", "ClusterIssuer"): _top(
        {
            "type": "object",
            "properties": {
                "selfSigned": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {"crlDistributionPoints": {"type": "array"}},
                },
                "ca": {
                    "type": "object",
                    "required": ["secretName"],
                    "additionalProperties": False,
                    "properties": {
                        "secretName": {"type": "string"},
                        "crlDistributionPoints": {"type": "array"},
                    },
                },
            },
            "minProperties": 1,
            "maxProperties": 1,
            "additionalProperties": False,
        }
    ),
}


def validate_doc(doc: Any, k8s_version: str) -> str | None:
    """Return None when valid, else a one-line reason."""
    if not isinstance(doc, dict):
        return f"not a mapping: {type(doc).__name__}"
    api_version, kind = doc.get("apiVersion"), doc.get("kind")
    if not api_version or not kind:
        return "missing apiVersion or kind"
    crd = CRD_SCHEMAS.get((api_version, kind))
    if crd is not None:
        errors = sorted(jsonschema.Draft202012Validator(crd).iter_errors(doc), key=lambda e: list(e.path))
        if errors:
            first = errors[0]
            return f"{'.'.join(str(p) for p in first.path) or '<root>'}: {first.message}"
        return None
    try:
        kubernetes_validate.validate(doc, k8s_version, strict=True)
    except kv_utils.SchemaNotFoundError:
        return (
            f"unknown kind {api_version}/{kind} for Kubernetes {k8s_version} "
            "(not a built-in kind and not in validate.py's CRD allow-list)"
        )
    except kv_utils.ValidationError as exc:
        path = ".".join(str(p) for p in getattr(exc, "path", [])) or "<root>"
        message = str(getattr(exc, "message", exc)).splitlines()[0]
        return f"{path}: {message}"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k8s-version", default=DEFAULT_K8S_VERSION)
    parser.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args(argv)

    failures = total = 0
    for path in args.files:
        try:
            docs = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]
        except (OSError, yaml.YAMLError) as exc:
            print(f"INVALID {path}: cannot read YAML: {exc}")
            failures += 1
            continue
        if not docs:
            print(f"INVALID {path}: no Kubernetes objects")
            failures += 1
            continue
        for doc in docs:
            total += 1
            try:
                problem = validate_doc(doc, args.k8s_version)
            except kv_utils.VersionNotSupportedError:
                print(
                    f"validate.py: Kubernetes {args.k8s_version} not supported by kubernetes-validate",
                    file=sys.stderr,
                )
                return 2
            if problem:
                failures += 1
                meta = doc.get("metadata", {}) if isinstance(doc, dict) else {}
                name = f"{doc.get('kind', '?')}/{meta.get('name', '?')}" if isinstance(doc, dict) else "?"
                print(f"INVALID {path.name} {name}: {problem}")
    valid = total - failures
    print(f"validate.py: {valid}/{total} objects valid against Kubernetes {args.k8s_version} (strict)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
