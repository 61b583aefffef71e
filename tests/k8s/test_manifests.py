"""Invariants over the rendered Kubernetes manifests (every overlay in k8s/overlays).

They encode what the architecture promises about the deployment: one Deployment, Service,
ServiceAccount, HPA, PDB, NetworkPolicy and mTLS Certificate per service; the Pod Security
"restricted" baseline; the AES keyring and the JWT signing key each reachable by one
service only; only the gateway reachable from outside; NetworkPolicies that allow exactly
the calls of the architecture diagram; production pinned to us-east-1.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Any

import pytest
from parser.config import SERVICE_MEMORY_BYTES, load_limits

ROOT = Path(__file__).resolve().parents[2]
OVERLAYS = sorted(
    p.name for p in (ROOT / "k8s" / "overlays").iterdir() if (p / "kustomization.yaml").is_file()
)
PROD = "prod-us-east-1"
NAMESPACE = "aicosts"

GATEWAY_PORT = 8080
GRPC_PORTS = {"auth": 50051, "keyvault": 50052, "usage": 50053, "parser": 50054}
SERVICES = {"gateway": GATEWAY_PORT, **GRPC_PORTS}

# The architecture diagram: caller -> callee (on the callee's gRPC port). Nothing else.
CALLS = {
    ("gateway", "auth"),
    ("gateway", "keyvault"),
    ("gateway", "usage"),
    ("gateway", "parser"),
    ("usage", "keyvault"),
    ("usage", "auth"),  # alert emails (auth alone holds the SendGrid key); an account's plan
    ("keyvault", "auth"),  # an account's plan and verified state: may it store one more key
    ("parser", "usage"),
    ("parser", "auth"),  # an account's plan (AI parsing) and verified state
    ("auth", "keyvault"),
}
# Egress to addresses outside the cluster, by port: 443 = provider/Stripe/SendGrid/OpenAI
# HTTPS, 27017 = MongoDB Atlas (every service but the gateway, which holds no DB credentials).
EXTERNAL_EGRESS = {
    "gateway": set(),  # Stripe is called by auth; the gateway only receives its webhooks
    "auth": {443, 27017},
    "keyvault": {27017},
    "usage": {443, 27017},
    "parser": {443, 27017},
}
NON_PUBLIC = [
    ipaddress.ip_network(c)
    for c in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "127.0.0.0/8")
]

# Exactly the Secrets each service's pods may read. The AES keyring is keyvault's alone and
# the JWT signing key auth's alone; the gateway has no database credentials.
SECRETS = {
    "gateway": {"gateway-tls"},
    "auth": {"auth-tls", "auth-mongodb", "auth-jwt-signing-key", "auth-sendgrid", "auth-stripe"},
    "keyvault": {"keyvault-tls", "keyvault-mongodb", "keyvault-keyring"},
    "usage": {"usage-tls", "usage-mongodb"},
    "parser": {"parser-tls", "parser-mongodb", "parser-openai"},
}
KEYRING_SECRET = "keyvault-keyring"
JWT_SIGNING_SECRET = "auth-jwt-signing-key"
STRIPE_SECRET = "auth-stripe"

# Pod Security Standards "restricted": the volume types it allows.
RESTRICTED_VOLUME_TYPES = {
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
}
CHECKOV_SKIP_RE = re.compile(r"^(CKV2?_K8S_\d+)=(\S.{19,})$")

per_overlay = pytest.mark.parametrize("overlay", OVERLAYS)


def test_both_overlays_exist():
    assert {"dev", PROD} <= set(OVERLAYS), f"k8s/overlays has {OVERLAYS}"


# --- shape: one of each object per service ------------------------------------------------


@per_overlay
def test_namespace_enforces_restricted_pod_security(render, overlay):
    m = render(f"overlays/{overlay}")
    assert set(m.of_kind("Namespace")) == {NAMESPACE}
    labels = m.of_kind("Namespace")[NAMESPACE]["metadata"].get("labels", {})
    assert labels.get("pod-security.kubernetes.io/enforce") == "restricted"


@per_overlay
def test_every_object_lives_in_the_aicosts_namespace(render, overlay):
    m = render(f"overlays/{overlay}")
    for doc in m.docs:
        if doc["kind"] != "Namespace":
            assert doc["metadata"].get("namespace") == NAMESPACE, f"{doc['kind']}/{doc['metadata']['name']}"


@per_overlay
def test_no_secret_material_in_the_manifests(render, overlay):
    m = render(f"overlays/{overlay}")
    assert not m.of_kind("Secret"), "Secrets are created out of band (k8s/README.md), never committed"


@per_overlay
def test_one_deployment_service_and_serviceaccount_per_service(render, overlay):
    m = render(f"overlays/{overlay}")
    assert set(m.deployments) == set(SERVICES)
    assert set(m.of_kind("Service")) == set(SERVICES)
    assert set(m.of_kind("ServiceAccount")) == set(SERVICES)
    for name, port in SERVICES.items():
        svc = m.of_kind("Service")[name]["spec"]
        assert svc.get("type", "ClusterIP") == "ClusterIP", f"{name}: only the Ingress is public"
        assert svc["selector"] == {"app.kubernetes.io/name": name}
        assert [p["port"] for p in svc["ports"]] == [port], name
        container_ports = {
            p["name"]: p["containerPort"] for p in m.containers(m.deployments[name])[0]["ports"]
        }
        target = svc["ports"][0]["targetPort"]
        assert container_ports.get(target, target) == port, f"{name}: Service targets {target}"


@per_overlay
def test_one_autoscaling_v2_hpa_per_deployment_and_no_fixed_replicas(render, overlay):
    m = render(f"overlays/{overlay}")
    hpas = m.of_kind("HorizontalPodAutoscaler")
    targets = sorted(h["spec"]["scaleTargetRef"]["name"] for h in hpas.values())
    assert targets == sorted(m.deployments), "exactly one HPA per Deployment"
    for name, hpa in hpas.items():
        assert hpa["apiVersion"] == "autoscaling/v2", name
        spec = hpa["spec"]
        assert spec["scaleTargetRef"]["kind"] == "Deployment"
        assert 1 <= spec.get("minReplicas", 1) <= spec["maxReplicas"], name
        assert spec.get("metrics"), f"{name}: HPA needs a metric"
    for name, dep in m.deployments.items():
        assert "replicas" not in dep["spec"], f"{name}: the HPA owns the replica count"


@per_overlay
def test_one_pdb_per_deployment(render, overlay):
    m = render(f"overlays/{overlay}")
    pdbs = m.of_kind("PodDisruptionBudget")
    selected = sorted(p["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"] for p in pdbs.values())
    assert selected == sorted(m.deployments)


@per_overlay
def test_own_serviceaccount_without_api_token(render, overlay):
    m = render(f"overlays/{overlay}")
    for name, dep in m.deployments.items():
        pod = m.pod_spec(dep)
        assert pod.get("serviceAccountName") == name
        assert pod.get("automountServiceAccountToken") is False, name
        assert m.of_kind("ServiceAccount")[name].get("automountServiceAccountToken") is False, name


# --- pods: security, resources, probes, rollout --------------------------------------------


@per_overlay
def test_pods_meet_the_restricted_security_baseline(render, overlay):
    m = render(f"overlays/{overlay}")
    for name, dep in m.deployments.items():
        pod = m.pod_spec(dep)
        psc = pod.get("securityContext", {})
        assert psc.get("runAsNonRoot") is True, name
        assert psc.get("runAsUser") == 10001, name
        assert psc.get("seccompProfile", {}).get("type") == "RuntimeDefault", name
        for key in ("hostNetwork", "hostPID", "hostIPC"):
            assert not pod.get(key), f"{name}: {key}"
        for volume in pod.get("volumes", []):
            kinds = set(volume) - {"name"}
            assert kinds <= RESTRICTED_VOLUME_TYPES, f"{name}: volume {volume['name']} is {kinds}"
        for c in m.containers(dep):
            sc = c.get("securityContext", {})
            where = f"{name}/{c['name']}"
            assert sc.get("allowPrivilegeEscalation") is False, where
            assert sc.get("capabilities", {}).get("drop") == ["ALL"], where
            assert not sc.get("capabilities", {}).get("add"), where
            assert sc.get("readOnlyRootFilesystem") is True, where
            assert not sc.get("privileged"), where
            assert sc.get("runAsUser", psc.get("runAsUser")) == 10001, where
            assert sc.get("runAsNonRoot", psc.get("runAsNonRoot")) is True, where
            assert not c.get("ports") or all("hostPort" not in p for p in c["ports"]), where


@per_overlay
def test_tmp_is_a_writable_emptydir(render, overlay):
    m = render(f"overlays/{overlay}")
    for name, dep in m.deployments.items():
        volumes = {v["name"]: v for v in m.pod_spec(dep).get("volumes", [])}
        for c in m.containers(dep):
            tmp = [vm for vm in c.get("volumeMounts", []) if vm["mountPath"] == "/tmp"]
            assert len(tmp) == 1, f"{name}: /tmp must be mounted (read-only root filesystem)"
            assert not tmp[0].get("readOnly"), name
            assert "emptyDir" in volumes[tmp[0]["name"]], f"{name}: /tmp must be an emptyDir"
            assert volumes[tmp[0]["name"]]["emptyDir"].get("sizeLimit"), f"{name}: bound /tmp"


@per_overlay
def test_requests_and_limits(render, overlay):
    m = render(f"overlays/{overlay}")
    for name, dep in m.deployments.items():
        for c in m.containers(dep):
            res = c.get("resources", {})
            for kind in ("requests", "limits"):
                for resource in ("cpu", "memory"):
                    assert res.get(kind, {}).get(resource), f"{name}: {kind}.{resource}"


def _memory_bytes(quantity: str) -> int:
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "K": 10**3, "M": 10**6, "G": 10**9}
    for suffix, factor in units.items():
        if quantity.endswith(suffix):
            return int(float(quantity[: -len(suffix)]) * factor)
    return int(quantity)


@per_overlay
def test_parser_pdf_readers_fit_under_the_pod_memory_limit(render, overlay):
    """Every PDF reader the parser may run at once, each at its memory cap, plus the service
    process itself, fit under the container's limit (else the pod is OOM-killed, not the reader)."""
    m = render(f"overlays/{overlay}")
    container = m.pod_spec(m.deployments["parser"])["containers"][0]
    env = {k: v for k, v in m.env(container).items() if isinstance(v, str)}
    limits = load_limits(env)
    needed = limits.pdf_max_workers * limits.pdf_memory_bytes + SERVICE_MEMORY_BYTES
    assert needed <= _memory_bytes(container["resources"]["limits"]["memory"])


@per_overlay
def test_probes(render, overlay):
    m = render(f"overlays/{overlay}")
    for name, dep in m.deployments.items():
        c = m.pod_spec(dep)["containers"][0]
        assert c.get("readinessProbe") and c.get("livenessProbe"), name
        env = m.env(c)
        if name == "gateway":
            ports = {p["name"]: p["containerPort"] for p in c["ports"]}
            for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
                get = c[probe].get("httpGet")
                assert get and get["path"] == path, f"gateway {probe} must GET {path}"
                assert ports.get(get["port"], get["port"]) == GATEWAY_PORT
                assert get.get("scheme") == "HTTPS", "the gateway serves HTTPS off loopback"
        else:
            health = GRPC_PORTS[name] + 1000
            assert env.get("HEALTH_PORT") == str(health), f"{name}: HEALTH_PORT = gRPC port + 1000"
            for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
                if probe in c:
                    assert c[probe].get("grpc", {}).get("port") == health, f"{name}: {probe} on {health}"


@per_overlay
def test_rollout_never_drops_below_desired_and_spreads_across_zones(render, overlay):
    m = render(f"overlays/{overlay}")
    for name, dep in m.deployments.items():
        strategy = dep["spec"].get("strategy", {})
        assert strategy.get("type", "RollingUpdate") == "RollingUpdate", name
        assert strategy.get("rollingUpdate", {}).get("maxUnavailable") == 0, name
        pod_labels = dep["spec"]["template"]["metadata"]["labels"]
        zone = [
            t
            for t in m.pod_spec(dep).get("topologySpreadConstraints", [])
            if t["topologyKey"] == "topology.kubernetes.io/zone"
        ]
        assert zone, f"{name}: no zone topologySpreadConstraint"
        selector = zone[0]["labelSelector"]["matchLabels"]
        assert selector.items() <= pod_labels.items(), f"{name}: spread selector must match its pods"


@per_overlay
def test_images_have_an_explicit_tag(render, overlay):
    m = render(f"overlays/{overlay}")
    for name, dep in m.deployments.items():
        for c in m.containers(dep):
            image = c["image"]
            tail = image.rsplit("/", 1)[-1]
            assert "@sha256:" in image or ":" in tail, f"{name}: {image} has no tag"
            assert not tail.endswith(":latest"), f"{name}: {image}"
            assert tail.split(":")[0].split("@")[0] == name, f"{name} runs image {image}"


# --- secrets and configuration ------------------------------------------------------------


@per_overlay
def test_each_service_reads_exactly_its_own_secrets(render, overlay):
    m = render(f"overlays/{overlay}")
    for name, dep in m.deployments.items():
        assert m.secret_names(dep) == SECRETS[name], name


@per_overlay
def test_only_keyvault_mounts_the_aes_keyring(render, overlay):
    m = render(f"overlays/{overlay}")
    holders = {n for n, d in m.deployments.items() if KEYRING_SECRET in m.secret_names(d)}
    assert holders == {"keyvault"}
    env = m.env(m.pod_spec(m.deployments["keyvault"])["containers"][0])
    assert env.get("KEYVAULT_KEYRING_FILE"), "keyvault must be told where the keyring is"
    for name, dep in m.deployments.items():
        if name != "keyvault":
            assert "KEYVAULT_KEYRING_FILE" not in m.env(m.pod_spec(dep)["containers"][0]), name


@per_overlay
def test_only_auth_mounts_the_jwt_signing_key(render, overlay):
    m = render(f"overlays/{overlay}")
    holders = {n for n, d in m.deployments.items() if JWT_SIGNING_SECRET in m.secret_names(d)}
    assert holders == {"auth"}
    for name, dep in m.deployments.items():
        env = m.env(m.pod_spec(dep)["containers"][0])
        assert ("AUTH_JWT_PRIVATE_KEY_FILE" in env) == (name == "auth"), name
        assert ("GATEWAY_JWT_PUBLIC_KEY_FILE" in env) == (name == "gateway"), name


@per_overlay
def test_only_auth_holds_the_stripe_keys_and_reads_them_from_files(render, overlay):
    m = render(f"overlays/{overlay}")
    holders = {n for n, d in m.deployments.items() if STRIPE_SECRET in m.secret_names(d)}
    assert holders == {"auth"}, "auth is the one service that talks to Stripe"
    for name, dep in m.deployments.items():
        env = m.env(m.pod_spec(dep)["containers"][0])
        for var in ("STRIPE_SECRET_KEY_FILE", "STRIPE_WEBHOOK_SECRET_FILE"):
            assert (var in env) == (name == "auth"), (name, var)
        assert "STRIPE_SECRET_KEY" not in env and "STRIPE_WEBHOOK_SECRET" not in env, name
    auth_env = m.env(m.pod_spec(m.deployments["auth"])["containers"][0])
    assert auth_env["STRIPE_PRICE_PROFESSIONAL"].startswith("price_")


@per_overlay
def test_file_variables_point_into_mounted_volumes(render, overlay):
    m = render(f"overlays/{overlay}")
    for name, dep in m.deployments.items():
        c = m.pod_spec(dep)["containers"][0]
        mounts = [vm["mountPath"].rstrip("/") + "/" for vm in c.get("volumeMounts", [])]
        for key, value in m.env(c).items():
            if key.endswith("_FILE"):
                assert isinstance(value, str) and any(value.startswith(p) for p in mounts), (
                    f"{name}: {key}={value} is not inside a mounted volume {mounts}"
                )


@per_overlay
def test_database_credentials_come_from_per_service_secrets(render, overlay):
    m = render(f"overlays/{overlay}")
    for name, dep in m.deployments.items():
        env = m.env(m.pod_spec(dep)["containers"][0])
        if name == "gateway":
            assert "MONGODB_URI" not in env, "the gateway holds no database credentials"
        else:
            assert env.get("MONGODB_URI") == ("secret", f"{name}-mongodb", "uri"), name


@per_overlay
def test_addresses_and_ports_match_the_services(render, overlay):
    m = render(f"overlays/{overlay}")
    env = m.env(m.pod_spec(m.deployments["gateway"])["containers"][0])
    for name, port in GRPC_PORTS.items():
        assert env[f"{name.upper()}_ADDR"] == f"{name}:{port}"
        assert env[f"{name.upper()}_PORT"] == str(port)
    assert env["GATEWAY_PORT"] == str(GATEWAY_PORT)
    assert env["GATEWAY_HOST"] == env["BIND_HOST"] == "0.0.0.0", "listen on the pod IP, not loopback"
    # gunicorn refuses plain HTTP off loopback: the gateway serves its certificate.
    assert env["GATEWAY_TLS_CERT_FILE"] == env["TLS_CERT_FILE"]
    assert env["GATEWAY_TLS_KEY_FILE"] == env["TLS_KEY_FILE"]
    assert env["GATEWAY_TRUSTED_PROXIES"] == "1", "exactly one proxy hop (ingress-nginx) sets X-Forwarded-For"


@per_overlay
def test_every_service_has_an_mtls_certificate_with_its_spiffe_id(render, overlay):
    m = render(f"overlays/{overlay}")
    certs = {c["spec"]["secretName"]: c for c in m.of_kind("Certificate").values()}
    assert len(certs) == len(m.of_kind("Certificate")) == len(SERVICES)
    for name, dep in m.deployments.items():
        c = m.pod_spec(dep)["containers"][0]
        env = m.env(c)
        tls_volume = next(
            vm["name"] for vm in c["volumeMounts"] if vm["mountPath"] == "/var/run/secrets/aicosts/tls"
        )
        secret = next(
            v["secret"]["secretName"] for v in m.pod_spec(dep)["volumes"] if v["name"] == tls_volume
        )
        assert secret in certs, f"{name}: its TLS secret {secret} has no Certificate"
        spec = certs[secret]["spec"]
        assert spec["issuerRef"] == {
            "group": "cert-manager.io",
            "kind": "ClusterIssuer",
            "name": "aicosts-internal-ca",
        }
        sa = m.pod_spec(dep)["serviceAccountName"]
        assert spec["uris"] == [f"spiffe://{env['TRUST_DOMAIN']}/ns/{NAMESPACE}/sa/{sa}"], name
        assert {"client auth", "server auth"} <= set(spec["usages"]), name
        assert name in spec["dnsNames"], f"{name}: clients verify the host name of {name}:<port>"
        for var, file in (
            ("TLS_CA_FILE", "ca.crt"),
            ("TLS_CERT_FILE", "tls.crt"),
            ("TLS_KEY_FILE", "tls.key"),
        ):
            assert env[var] == f"/var/run/secrets/aicosts/tls/{file}", name


# --- ingress ------------------------------------------------------------------------------


@per_overlay
def test_only_the_gateway_has_an_ingress(render, overlay):
    m = render(f"overlays/{overlay}")
    ingresses = m.of_kind("Ingress")
    assert list(ingresses) == ["gateway"]
    spec = ingresses["gateway"]["spec"]
    assert spec.get("ingressClassName") == "nginx"
    backends = {p["backend"]["service"]["name"] for r in spec["rules"] for p in r["http"]["paths"]}
    assert backends == {"gateway"}
    public = m.env(m.pod_spec(m.deployments["gateway"])["containers"][0])["PUBLIC_DOMAIN"]
    assert [r["host"] for r in spec["rules"]] == [public]
    assert [h for t in spec["tls"] for h in t["hosts"]] == [public]
    assert all(t.get("secretName") for t in spec["tls"])


@per_overlay
def test_auth_links_and_sender_follow_the_public_domain(render, overlay):
    m = render(f"overlays/{overlay}")
    env = m.env(m.pod_spec(m.deployments["auth"])["containers"][0])
    host = m.of_kind("Ingress")["gateway"]["spec"]["rules"][0]["host"]
    assert env["PUBLIC_BASE_URL"] == f"https://{host}"
    assert env["EMAIL_FROM"].endswith(f"@{host}>")
    assert env["EMAIL_OUTBOX_DIR"].startswith("/tmp/"), "only /tmp is writable"


def _nginx_size_to_bytes(size: str) -> int:
    match = re.fullmatch(r"(\d+)([kKmMgG]?)", size)
    assert match, size
    return int(match.group(1)) * {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[match.group(2).lower()]


@per_overlay
def test_ingress_enforces_tls_and_the_body_limit(render, overlay):
    m = render(f"overlays/{overlay}")
    ann = m.of_kind("Ingress")["gateway"]["metadata"].get("annotations", {})
    assert ann.get("nginx.ingress.kubernetes.io/ssl-redirect") == "true"
    assert ann.get("nginx.ingress.kubernetes.io/force-ssl-redirect") == "true"
    assert ann.get("nginx.ingress.kubernetes.io/backend-protocol") == "HTTPS"
    limit = m.env(m.pod_spec(m.deployments["gateway"])["containers"][0])["GATEWAY_MAX_BODY_BYTES"]
    assert (
        _nginx_size_to_bytes(ann["nginx.ingress.kubernetes.io/proxy-body-size"]) == int(limit) == 25 * 1024**2
    )
    # AEAD suites (GCM, ChaCha20-Poly1305) exist only in TLS 1.2+.
    ciphers = ann["nginx.ingress.kubernetes.io/ssl-ciphers"].split(":")
    assert ciphers and all(("GCM" in c or "CHACHA20" in c) and c.startswith("ECDHE") for c in ciphers)
    assert not [k for k in ann if k.endswith("-snippet")], "no nginx snippet annotations"


# --- network policies ---------------------------------------------------------------------


def _matches(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    assert not (selector or {}).get("matchExpressions"), "evaluator supports matchLabels only"
    return all(labels.get(k) == v for k, v in (selector or {}).get("matchLabels", {}).items())


def _peer_selects_pod(peer: dict[str, Any], pod_labels: dict[str, str], ns_labels: dict[str, str]) -> bool:
    if "ipBlock" in peer:
        return False  # pod IPs are private; every ipBlock excludes them (checked below)
    if "namespaceSelector" in peer and not _matches(peer["namespaceSelector"], ns_labels):
        return False
    return _matches(peer.get("podSelector"), pod_labels)


def _port_allowed(rule: dict[str, Any], port: int, named: dict[str, int]) -> bool:
    if not rule.get("ports"):
        return True
    return any(
        p.get("protocol", "TCP") == "TCP" and named.get(p.get("port"), p.get("port")) == port
        for p in rule["ports"]
    )


def _direction_allows(policies, pod_labels, direction, peer_labels, ns_labels, port, named) -> bool:
    kind = "Ingress" if direction == "ingress" else "Egress"
    applying = [
        p["spec"]
        for p in policies
        if _matches(p["spec"]["podSelector"], pod_labels) and kind in p["spec"].get("policyTypes", [])
    ]
    if not applying:
        return True
    peer_key = "from" if direction == "ingress" else "to"
    return any(
        _port_allowed(rule, port, named)
        and (
            peer_key not in rule
            or any(_peer_selects_pod(peer, peer_labels, ns_labels) for peer in rule[peer_key])
        )
        for spec in applying
        for rule in spec.get(direction, [])
    )


@per_overlay
def test_default_deny_and_dns_only_for_everyone(render, overlay):
    m = render(f"overlays/{overlay}")
    select_all = [p["spec"] for p in m.of_kind("NetworkPolicy").values() if p["spec"]["podSelector"] == {}]
    deny = [
        s
        for s in select_all
        if set(s.get("policyTypes", [])) == {"Ingress", "Egress"}
        and not s.get("ingress")
        and not s.get("egress")
    ]
    assert deny, "no default-deny NetworkPolicy for ingress and egress"
    for spec in select_all:
        assert not spec.get("ingress"), "no namespace-wide ingress allowance"
        for rule in spec.get("egress", []):
            assert {(p.get("protocol", "TCP"), p["port"]) for p in rule["ports"]} <= {
                ("UDP", 53),
                ("TCP", 53),
            }
            for peer in rule["to"]:
                assert peer.get("podSelector", {}).get("matchLabels") == {"k8s-app": "kube-dns"}
                assert peer.get("namespaceSelector", {}).get("matchLabels") == {
                    "kubernetes.io/metadata.name": "kube-system"
                }


@per_overlay
def test_network_policies_allow_exactly_the_architecture_calls(render, overlay):
    m = render(f"overlays/{overlay}")
    policies = list(m.of_kind("NetworkPolicy").values())
    ns_labels = {
        **m.of_kind("Namespace")[NAMESPACE]["metadata"].get("labels", {}),
        "kubernetes.io/metadata.name": NAMESPACE,
    }
    pods = {n: d["spec"]["template"]["metadata"]["labels"] for n, d in m.deployments.items()}
    ports = {
        n: {p.get("name"): p["containerPort"] for p in m.containers(d)[0]["ports"]}
        for n, d in m.deployments.items()
    }
    allowed = set()
    for src, src_labels in pods.items():
        for dst, dst_labels in pods.items():
            for port in ports[dst].values():
                if _direction_allows(
                    policies, src_labels, "egress", dst_labels, ns_labels, port, ports[dst]
                ) and _direction_allows(
                    policies, dst_labels, "ingress", src_labels, ns_labels, port, ports[dst]
                ):
                    allowed.add((src, dst, port))
    assert allowed == {(src, dst, SERVICES[dst]) for src, dst in CALLS}


@per_overlay
def test_every_rule_names_peers_and_ports(render, overlay):
    m = render(f"overlays/{overlay}")
    for name, policy in m.of_kind("NetworkPolicy").items():
        for direction, key in (("ingress", "from"), ("egress", "to")):
            for rule in policy["spec"].get(direction, []):
                assert rule.get(key), f"{name}: an {direction} rule without '{key}' allows every peer"
                assert rule.get("ports"), f"{name}: an {direction} rule without ports allows every port"
                for peer in rule[key]:
                    block = peer.get("ipBlock")
                    if block:
                        cidr = ipaddress.ip_network(block["cidr"])
                        excepted = [ipaddress.ip_network(e) for e in block.get("except", [])]
                        for private in NON_PUBLIC:
                            assert not cidr.overlaps(private) or any(
                                private.subnet_of(e) for e in excepted
                            ), f"{name}: {block['cidr']} reaches {private} (cluster/metadata addresses)"


@per_overlay
def test_only_the_gateway_is_reachable_from_outside_and_only_via_ingress_nginx(render, overlay):
    m = render(f"overlays/{overlay}")
    external = {}
    for policy in m.of_kind("NetworkPolicy").values():
        spec = policy["spec"]
        for rule in spec.get("ingress", []):
            for peer in rule["from"]:
                if "namespaceSelector" in peer or "ipBlock" in peer:
                    target = spec["podSelector"]["matchLabels"]["app.kubernetes.io/name"]
                    external.setdefault(target, []).append((peer, [p["port"] for p in rule["ports"]]))
    assert set(external) == {"gateway"}
    for peer, rule_ports in external["gateway"]:
        assert peer.get("namespaceSelector", {}).get("matchLabels") == {
            "kubernetes.io/metadata.name": "ingress-nginx"
        }
        assert "ipBlock" not in peer
        assert rule_ports == [GATEWAY_PORT]


@per_overlay
def test_egress_leaves_the_cluster_only_where_needed(render, overlay):
    m = render(f"overlays/{overlay}")
    found: dict[str, set[int]] = {name: set() for name in SERVICES}
    for policy in m.of_kind("NetworkPolicy").values():
        spec = policy["spec"]
        for rule in spec.get("egress", []):
            if any("ipBlock" in peer for peer in rule["to"]):
                assert spec["podSelector"], "no namespace-wide egress to external addresses"
                target = spec["podSelector"]["matchLabels"]["app.kubernetes.io/name"]
                found[target] |= {p["port"] for p in rule["ports"]}
    assert found == EXTERNAL_EGRESS


# --- environments -------------------------------------------------------------------------


def test_production_is_pinned_to_us_east_1(render):
    m = render(f"overlays/{PROD}")
    for name, dep in m.deployments.items():
        pod = m.pod_spec(dep)
        pinned = pod.get("nodeSelector", {}).get("topology.kubernetes.io/region") == "us-east-1"
        required = (
            pod.get("affinity", {})
            .get("nodeAffinity", {})
            .get("requiredDuringSchedulingIgnoredDuringExecution", {})
            .get("nodeSelectorTerms", [])
        )
        if required:
            pinned = pinned or all(
                any(
                    e["key"] == "topology.kubernetes.io/region"
                    and e["operator"] == "In"
                    and e["values"] == ["us-east-1"]
                    for e in term.get("matchExpressions", [])
                )
                for term in required
            )
        assert pinned, f"{name}: not pinned to nodes in us-east-1"
        for c in m.containers(dep):
            env = m.env(c)
            assert env.get("REGION") == "us-east-1", name
            assert env.get("AICOSTS_ENV") == "production", name
            assert env.get("LOG_LEVEL") != "DEBUG", name
        zone = [
            t for t in pod["topologySpreadConstraints"] if t["topologyKey"] == "topology.kubernetes.io/zone"
        ]
        assert zone[0]["whenUnsatisfiable"] == "DoNotSchedule", f"{name}: prod spreads across zones strictly"
    for name, hpa in m.of_kind("HorizontalPodAutoscaler").items():
        assert hpa["spec"]["minReplicas"] >= 2, f"{name}: production keeps at least two replicas"


def test_dev_runs_in_development_mode(render):
    m = render("overlays/dev")
    for dep in m.deployments.values():
        assert m.env(m.pod_spec(dep)["containers"][0])["AICOSTS_ENV"] == "development"


# --- checkov skips and cluster prerequisites ----------------------------------------------


def test_every_checkov_skip_has_a_reason_and_is_documented(render):
    used: set[str] = set()
    for overlay in OVERLAYS:
        for doc in render(f"overlays/{overlay}").docs:
            for key, value in (doc["metadata"].get("annotations") or {}).items():
                if key.startswith("checkov.io/skip"):
                    match = CHECKOV_SKIP_RE.match(value.strip())
                    assert match, f"{doc['kind']}/{doc['metadata']['name']} {key}: want '<CHECK_ID>=<reason>'"
                    used.add(match.group(1))
    documented = set(
        re.findall(r"^\| (CKV2?_K8S_\d+)", (ROOT / "k8s" / "CHECKOV_SKIPS.md").read_text(), re.M)
    )
    assert used == documented, (
        f"skips in manifests {sorted(used)} != k8s/CHECKOV_SKIPS.md {sorted(documented)}"
    )


def test_cluster_prerequisites_define_the_internal_ca_issuer(render):
    m = render("cluster")
    issuer = m.of_kind("ClusterIssuer")["aicosts-internal-ca"]["spec"]
    ca_certs = [c for c in m.of_kind("Certificate").values() if c["spec"].get("isCA")]
    assert [c["spec"]["secretName"] for c in ca_certs] == [issuer["ca"]["secretName"]]
    assert ca_certs[0]["metadata"]["namespace"] == "cert-manager"
