#!/usr/bin/env bash
# Offline checks of the Kubernetes manifests (make k8s-check). For every overlay in
# k8s/overlays plus the cluster prerequisites in k8s/cluster:
#   1. render with `kubectl kustomize` to a temporary .yaml file;
#   2. schema-check it with kubernetes-validate (strict, Kubernetes 1.32; unknown kinds fail
#      except the cert-manager CRDs allow-listed in k8s/validate.py);
#   3. policy-scan it with checkov, offline (skips only as checkov.io/skipN annotations with
#      a reason, each listed in k8s/CHECKOV_SKIPS.md);
#   4. run the project's invariants: pytest tests/k8s.
# Needs: kubectl >= 1.27 on PATH (it embeds kustomize), the project venv (.venv or $PYTHON).
# Installs on first use: kubernetes-validate into the project venv if missing, checkov into
# its own venv var/checkov-venv (it pins old dependencies that clash with the project's).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

K8S_VERSION="1.32"
KUBERNETES_VALIDATE_VERSION="1.37.0"
CHECKOV_VERSION="3.3.30"
CHECKOV_VENV="$ROOT/var/checkov-venv"

start=$SECONDS
step() { printf '\n== k8s-check: %s (%ss)\n' "$1" "$((SECONDS - start))"; }
die() { printf 'k8s-check: FAILED: %s\n' "$1" >&2; exit 1; }

if ! command -v kubectl >/dev/null 2>&1; then
    die "kubectl not found on PATH. It renders the manifests (kubectl kustomize) and no registry
here offers a current one: install kubectl >= 1.27 (https://kubernetes.io/docs/tasks/tools/)."
fi

if [[ -n "${PYTHON:-}" ]]; then
    PY="$PYTHON"
elif [[ -x "$ROOT/.venv/bin/python" ]]; then
    PY="$ROOT/.venv/bin/python"
else
    die "no project venv at .venv (create it first, or set PYTHON=/path/to/python)"
fi

if ! "$PY" -c 'import kubernetes_validate, yaml' >/dev/null 2>&1; then
    step "installing kubernetes-validate==$KUBERNETES_VALIDATE_VERSION into the project venv"
    "$PY" -m pip install --quiet "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
fi

# Version check by metadata directory: `checkov --version` alone takes ~3 s to import.
if ! compgen -G "$CHECKOV_VENV/lib/python3*/site-packages/checkov-$CHECKOV_VERSION.dist-info" >/dev/null \
        || [[ ! -x "$CHECKOV_VENV/bin/checkov" ]]; then
    step "installing checkov==$CHECKOV_VERSION into var/checkov-venv (first run only)"
    rm -rf "$CHECKOV_VENV"
    "$PY" -m venv "$CHECKOV_VENV"
    "$CHECKOV_VENV/bin/pip" install --quiet "checkov==$CHECKOV_VERSION"
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

step "render (kubectl kustomize)"
targets=(k8s/cluster)
for overlay in k8s/overlays/*/; do
    targets+=("${overlay%/}")
done
rendered=()
for target in "${targets[@]}"; do
    out="$tmp/$(basename "$target").yaml"
    kubectl kustomize "$target" >"$out" || die "kubectl kustomize $target"
    [[ -s "$out" ]] || die "kubectl kustomize $target rendered nothing"
    echo "rendered $target -> $(grep -c '^kind:' "$out") objects"
    rendered+=("$out")
done

step "schema (kubernetes-validate --strict, Kubernetes $K8S_VERSION)"
"$PY" k8s/validate.py --k8s-version "$K8S_VERSION" "${rendered[@]}" || die "schema validation"

step "policy (checkov $CHECKOV_VERSION, offline)"
checkov_args=()
for f in "${rendered[@]}"; do
    checkov_args+=(-f "$f")
done
# Both variables stop checkov's two network calls (guideline download, update check).
CKV_SKIP_PACKAGE_UPDATE_CHECK=true BC_SKIP_MAPPING=TRUE \
    "$CHECKOV_VENV/bin/checkov" "${checkov_args[@]}" --framework kubernetes \
    --skip-download --compact --quiet || die "checkov found failing checks (see above)"

step "invariants (pytest tests/k8s)"
"$PY" -m pytest -q -p no:cacheprovider tests/k8s || die "pytest tests/k8s"

step "all checks passed"
