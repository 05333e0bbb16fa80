"""deploy/helm/ragdesk rendered by the real `helm template` (v4, scripts/helm.sh installs
it) and every object checked against the Kubernetes schemas (kubernetes-validate, strict:
unknown fields are errors).

Two limits, said plainly: the Qdrant chart dependency cannot be fetched here (no chart
repository is reachable), so the chart is rendered from a copy without the dependency and
the Qdrant values are checked as values; and KubeRay's RayCluster is a custom resource
with no schema in kubernetes-validate, so its required fields are checked by hand and its
pod templates are validated as core PodTemplate objects.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from rag_core.settings import Settings
from tests.conftest import REPO

CHART = REPO / "deploy" / "helm" / "ragdesk"
K8S_VERSION = "1.33.0"
PENDING_SETTINGS = {"RAGDESK_API_HOST", "RAGDESK_API_PORT"}  # `ragdesk serve-api` (issue 22)


@pytest.fixture(scope="module")
def helm() -> str:
    found = subprocess.run(
        [str(REPO / "scripts" / "helm.sh")], capture_output=True, text=True, timeout=600
    )
    assert found.returncode == 0, f"helm could not be installed: {found.stderr}"
    return found.stdout.strip().splitlines()[-1]


def render(helm: str, tmp_path: Path, *sets: str) -> list[dict[str, Any]]:
    chart = tmp_path / "ragdesk"
    shutil.copytree(CHART, chart)
    meta = yaml.safe_load((chart / "Chart.yaml").read_text())
    meta.pop("dependencies")  # Qdrant's chart: not fetchable here (see the module doc)
    (chart / "Chart.yaml").write_text(yaml.safe_dump(meta))
    args = [helm, "template", "rel", str(chart), "--set", "qdrant.enabled=false"]
    for value in sets:
        args += ["--set", value]
    done = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def validate(objects: list[dict[str, Any]]) -> None:
    for obj in objects:
        if obj["kind"] == "RayCluster":
            check_raycluster(obj)
            continue
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


def pod_template_object(template: dict[str, Any], name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": name},
            "template": template}  # fmt: skip


def check_raycluster(obj: dict[str, Any]) -> None:
    assert obj["apiVersion"] == "ray.io/v1"
    spec = obj["spec"]
    head = spec["headGroupSpec"]
    assert all(isinstance(v, str) for v in head["rayStartParams"].values())
    kubernetes_validate.validate(pod_template_object(head["template"], "head"), K8S_VERSION, True)
    for group in spec["workerGroupSpecs"]:
        assert group["groupName"]
        assert group["minReplicas"] <= group["replicas"] <= group["maxReplicas"]
        assert all(isinstance(v, str) for v in group["rayStartParams"].values())
        kubernetes_validate.validate(
            pod_template_object(group["template"], group["groupName"]), K8S_VERSION, True
        )


def by_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def test_default_values_render_valid_objects(helm: str, tmp_path: Path) -> None:
    objects = render(helm, tmp_path)
    validate(objects)
    deployments = by_kind(objects, "Deployment")
    assert set(deployments) == {
        "rel-ragdesk-chat", "rel-ragdesk-api", "rel-ragdesk-ingest-worker", "rel-ragdesk-vllm",
    }  # fmt: skip
    for name, deployment in deployments.items():
        pod = deployment["spec"]["template"]
        assert pod["metadata"]["annotations"]["prometheus.io/scrape"] == "true", name
        for container in pod["spec"]["containers"]:
            assert container["resources"]["requests"], name
            assert container["livenessProbe"], name
            if name != "rel-ragdesk-ingest-worker":  # serves no traffic
                assert container["readinessProbe"], name
    worker = deployments["rel-ragdesk-ingest-worker"]["spec"]
    assert worker["replicas"] == 1 and worker["strategy"]["type"] == "Recreate"
    env = {e["name"]: e["value"] for e in worker["template"]["spec"]["containers"][0]["env"]}
    assert env["RAGDESK_RAY_ADDRESS"] == "ray://rel-ragdesk-ray-head-svc:10001"
    [ray] = by_kind(objects, "RayCluster").values()
    assert ray["metadata"]["name"] + "-head-svc" in env["RAGDESK_RAY_ADDRESS"]  # KubeRay's name
    vllm = deployments["rel-ragdesk-vllm"]["spec"]["template"]["spec"]
    assert vllm["nodeSelector"] and vllm["containers"][0]["resources"]["limits"]["nvidia.com/gpu"]
    claims = by_kind(objects, "PersistentVolumeClaim")
    assert {"rel-ragdesk-data", "rel-ragdesk-models", "rel-ragdesk-inbox"} <= set(claims)
    [secret] = by_kind(objects, "Secret").values()
    assert {"RAGDESK_QDRANT_API_KEY", "RAGDESK_LDAP_BIND_PASSWORD"} <= set(secret["stringData"])


def test_every_setting_is_one_ragdesk_knows(helm: str, tmp_path: Path) -> None:
    objects = render(helm, tmp_path, "ldap.enabled=true", "ldap.bindDn=cn=svc")
    validate(objects)
    known = {f"RAGDESK_{name.upper()}" for name in Settings.model_fields} | PENDING_SETTINGS
    [config] = by_kind(objects, "ConfigMap").values()
    assert set(config["data"]) <= known, set(config["data"]) - known
    assert config["data"]["RAGDESK_AUTH"] == "ldap"
    assert config["data"]["RAGDESK_QDRANT_URL"] == "http://rel-qdrant:6333"  # the subchart's
    Settings(**{k.removeprefix("RAGDESK_").lower(): v for k, v in config["data"].items()
                if k not in PENDING_SETTINGS})  # fmt: skip
    [secret] = by_kind(objects, "Secret").values()
    assert set(secret["stringData"]) <= known


def test_optional_parts_switch_off(helm: str, tmp_path: Path) -> None:
    objects = render(helm, tmp_path, "vllm.enabled=false", "ray.enabled=false",
                     "api.enabled=false", "secrets.existingSecret=mine")  # fmt: skip
    validate(objects)
    assert not by_kind(objects, "RayCluster") and not by_kind(objects, "Secret")
    assert set(by_kind(objects, "Deployment")) == {"rel-ragdesk-chat", "rel-ragdesk-ingest-worker"}
    worker = by_kind(objects, "Deployment")["rel-ragdesk-ingest-worker"]
    assert "env" not in worker["spec"]["template"]["spec"]["containers"][0]  # parses locally


def test_qdrant_comes_from_its_official_chart_as_a_cluster() -> None:
    meta = yaml.safe_load((CHART / "Chart.yaml").read_text())
    [dependency] = meta["dependencies"]
    assert dependency["name"] == "qdrant"
    assert dependency["repository"] == "https://qdrant.github.io/qdrant-helm"
    assert dependency["condition"] == "qdrant.enabled"
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    qdrant = values["qdrant"]
    assert qdrant["replicaCount"] == 3 and qdrant["config"]["cluster"]["enabled"] is True
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    assert compose["services"]["qdrant"]["image"].endswith(":" + qdrant["image"]["tag"])
    assert qdrant["layout"]["writeConsistency"] <= qdrant["layout"]["replication"]


def test_the_cluster_runs_the_ray_release_ragdesk_pins() -> None:
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    pins = dict(
        line.split("==") for line in (REPO / "constraints.txt").read_text().splitlines()
        if "==" in line
    )  # fmt: skip
    assert values["ray"]["version"] == pins["ray"]
