"""Render the kustomize overlays once per session and give the tests a small query API.

Rendering shells out to `kubectl kustomize`. Without kubectl the tests FAIL (never skip):
the manifests are a product promise (region pin, key isolation, network policy) and a
silently skipped check would hide a broken deployment.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "k8s"
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


_VAR_REF = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


def _expand(value: str, defined: dict[str, Any]) -> str:
    """Kubernetes dependent-variable expansion: $(NAME) from variables defined before, $$ -> $."""

    def sub(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        known = defined.get(match.group(1))
        return known if isinstance(known, str) else match.group(0)

    return _VAR_REF.sub(sub, value)


@dataclass
class Rendered:
    """The objects one `kubectl kustomize <target>` produced."""

    target: str
    docs: list[dict[str, Any]]
    _by_kind: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        for doc in self.docs:
            self._by_kind.setdefault(doc["kind"], {})[doc["metadata"]["name"]] = doc

    def of_kind(self, kind: str) -> dict[str, dict[str, Any]]:
        return self._by_kind.get(kind, {})

    @property
    def deployments(self) -> dict[str, dict[str, Any]]:
        return self.of_kind("Deployment")

    def configmap(self, name: str) -> dict[str, Any]:
        """A ConfigMap by its generator name (kustomize appends a content hash)."""
        found = [
            cm for n, cm in self.of_kind("ConfigMap").items() if n == name or n.rsplit("-", 1)[0] == name
        ]
        assert len(found) == 1, f"{self.target}: expected one ConfigMap {name!r}, found {len(found)}"
        return found[0]

    @staticmethod
    def pod_spec(deployment: dict[str, Any]) -> dict[str, Any]:
        return deployment["spec"]["template"]["spec"]

    @classmethod
    def containers(cls, deployment: dict[str, Any]) -> list[dict[str, Any]]:
        spec = cls.pod_spec(deployment)
        return list(spec.get("initContainers", [])) + list(spec["containers"])

    def env(self, container: dict[str, Any]) -> dict[str, Any]:
        """Effective environment: envFrom ConfigMaps resolved, then env (later wins).

        Plain values are strings; values from a Secret are ("secret", name, key) tuples.
        """
        result: dict[str, Any] = {}
        for source in container.get("envFrom", []):
            if "configMapRef" in source:
                cm = self.of_kind("ConfigMap").get(source["configMapRef"]["name"])
                assert cm is not None, f"envFrom names a ConfigMap that is not rendered: {source}"
                result.update({source.get("prefix", "") + k: v for k, v in cm.get("data", {}).items()})
            else:
                result[f"<envFrom {source}>"] = ("secret", source["secretRef"]["name"], "*")
        for var in container.get("env", []):
            if "value" in var:
                result[var["name"]] = _expand(var["value"], result)
            elif "secretKeyRef" in var.get("valueFrom", {}):
                ref = var["valueFrom"]["secretKeyRef"]
                result[var["name"]] = ("secret", ref["name"], ref["key"])
            else:
                result[var["name"]] = ("other", var.get("valueFrom"))
        return result

    def secret_names(self, deployment: dict[str, Any]) -> set[str]:
        """Every Secret a Deployment's pods can read: volumes, projected volumes, env, envFrom."""
        names: set[str] = set()
        for volume in self.pod_spec(deployment).get("volumes", []):
            if "secret" in volume:
                names.add(volume["secret"]["secretName"])
            for source in volume.get("projected", {}).get("sources", []):
                if "secret" in source:
                    names.add(source["secret"]["name"])
        for container in self.containers(deployment):
            for source in container.get("envFrom", []):
                if "secretRef" in source:
                    names.add(source["secretRef"]["name"])
            for var in container.get("env", []):
                ref = var.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    names.add(ref["name"])
        for pull in self.pod_spec(deployment).get("imagePullSecrets", []):
            names.add(pull["name"])
        return names


def _render(target: str, cache: dict[str, Rendered | str]) -> Rendered:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.fail(
            "kubectl not found on PATH. tests/k8s render the manifests with `kubectl kustomize` "
            "(kubectl >= 1.27 embeds kustomize); install kubectl. These tests never skip.",
            pytrace=False,
        )
    if target not in cache:
        proc = subprocess.run(
            [kubectl, "kustomize", str(K8S / target)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if proc.returncode != 0:
            cache[target] = f"`kubectl kustomize k8s/{target}` failed:\n{proc.stderr}"
        else:
            docs = [d for d in yaml.load_all(proc.stdout, Loader=_LOADER) if d is not None]
            cache[target] = (
                Rendered(target, docs) if docs else f"`kubectl kustomize k8s/{target}` rendered nothing"
            )
    result = cache[target]
    if isinstance(result, str):
        pytest.fail(result, pytrace=False)
    return result


@pytest.fixture(scope="session")
def render() -> Iterator[Callable[[str], Rendered]]:
    """render("overlays/prod-us-east-1") -> Rendered. Call it inside the test body so a missing
    kubectl or a broken kustomization is reported as a FAILED test with the reason."""
    cache: dict[str, Rendered | str] = {}
    yield lambda target: _render(target, cache)
