"""docker-compose.yml and the Dockerfile, checked without Docker (no daemon on these
machines): services, healthchecks, volumes, ports, and only settings ragdesk knows."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from rag_core.settings import Settings
from tests.conftest import REPO

COMPOSE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "Dockerfile"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return dict(yaml.safe_load(COMPOSE.read_text()))


def known_env_vars() -> set[str]:
    return {f"RAGDESK_{name.upper()}" for name in Settings.model_fields}


def test_services_and_their_roles(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {
        "qdrant",
        "model",
        "app",
        "api",
        "ingest-worker",
        "app-gpu",
        "llm",
        "vllm",
        "prometheus",
        "grafana",
    }
    assert re.fullmatch(r"qdrant/qdrant:v\d+\.\d+\.\d+", services["qdrant"]["image"])
    assert services["ingest-worker"]["command"] == ["ingest", "/inbox", "--watch"]
    assert services["model"]["command"] == ["ragdesk", "model", "pull", "ministral-3-8b"]
    assert services["model"]["restart"] == "no"
    assert services["app"]["ports"] == ["${RAGDESK_PORT:-8501}:8501"]
    assert services["app-gpu"]["profiles"] == ["gpu"]
    assert services["app-gpu"]["environment"]["RAGDESK_LLM_GPU_LAYERS"] == "-1"
    devices = services["app-gpu"]["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["capabilities"] == ["gpu"]


def test_healthchecks_and_start_order(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in ("qdrant", "app", "ingest-worker"):
        check = services[name]["healthcheck"]
        assert check["test"] and check["interval"] and check["retries"] >= 3
    assert "/readyz" in " ".join(services["qdrant"]["healthcheck"]["test"])
    for name in ("app", "api", "ingest-worker", "app-gpu"):
        assert services[name]["depends_on"]["qdrant"]["condition"] == "service_healthy"
    assert services["app"]["depends_on"]["model"]["condition"] == ("service_completed_successfully")


def test_volumes_are_named_and_shared_where_they_must_be(compose: dict[str, Any]) -> None:
    declared = set(compose["volumes"])
    assert declared == {
        "qdrant-storage",
        "data",
        "models",
        "inbox",
        "prometheus-data",
        "grafana-data",
        "hf-cache",
    }
    for name, service in compose["services"].items():
        for mount in service.get("volumes", []):
            volume = mount.split(":", 1)[0]
            if volume.startswith("./"):  # a config file or folder from this repository
                assert (REPO / volume).exists(), f"{name} mounts a missing {volume}"
                continue
            assert volume in declared, f"{name} mounts an undeclared volume {volume}"
    app, worker = compose["services"]["app"], compose["services"]["ingest-worker"]
    assert "inbox:/inbox" in app["volumes"] and "inbox:/inbox" in worker["volumes"]
    assert "data:/data" in app["volumes"] and "data:/data" in worker["volumes"]
    assert compose["services"]["model"]["volumes"] == ["models:/models"]


def test_every_ragdesk_variable_is_a_setting(compose: dict[str, Any]) -> None:
    known = known_env_vars()
    used = {
        key
        for service in compose["services"].values()
        for key in (service.get("environment") or {})
        if key.startswith("RAGDESK_")
    }
    assert used, "the services are configured through RAGDESK_* variables"
    assert used <= known, f"unknown settings: {sorted(used - known)}"
    in_dockerfile = set(re.findall(r"RAGDESK_[A-Z_]+", DOCKERFILE.read_text()))
    assert in_dockerfile <= known, f"unknown settings: {sorted(in_dockerfile - known)}"


def test_compose_values_are_valid_settings(compose: dict[str, Any]) -> None:
    environment = {
        key: re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", str(value))
        for key, value in compose["services"]["app"]["environment"].items()
    }
    fields = {
        key.removeprefix("RAGDESK_").lower(): value
        for key, value in environment.items()
        if value != ""
    }
    settings = Settings(**fields)
    assert settings.qdrant_url == "http://qdrant:6333"
    assert str(settings.inbox_dir) == "/inbox"


def test_dockerfile_is_multi_stage_and_portable() -> None:
    text = DOCKERFILE.read_text()
    stages = re.findall(r"^FROM \S+ AS (\S+)$", text, flags=re.M)
    assert stages == ["source", "build", "runtime", "build-gpu", "runtime-gpu"]
    assert text.count("-DGGML_NATIVE=OFF") == 2, "runs on any x86-64 CPU"
    assert "-DGGML_CUDA=on" in text
    assert "unstructured[pdf]" not in text
    assert "torch==2.13.0" in text, "the CPU torch wheel first, never a CUDA one by accident"


def test_api_profile_runs_serve_api_on_the_chats_data(compose: dict[str, Any]) -> None:
    api = compose["services"]["api"]
    assert api["profiles"] == ["api"] and api["command"] == ["ragdesk", "serve-api"]
    assert api["environment"]["RAGDESK_API_HOST"] == "0.0.0.0"
    assert api["ports"] == ["${RAGDESK_API_PORT:-8000}:8000"]
    assert "/healthz" in " ".join(api["healthcheck"]["test"])
    assert "data:/data" in api["volumes"], "keys and conversations are the chat's"


def test_llm_server_profile_runs_serve_model(compose: dict[str, Any]) -> None:
    llm = compose["services"]["llm"]
    assert llm["profiles"] == ["server"] and llm["command"] == ["ragdesk", "serve-model"]
    assert llm["environment"]["RAGDESK_LLM_SERVER_HOST"] == "0.0.0.0"
    assert llm["expose"] == [llm["environment"]["RAGDESK_LLM_SERVER_PORT"]]
    assert "/health" in " ".join(llm["healthcheck"]["test"])
    text = DOCKERFILE.read_text()
    assert "GGML_NATIVE=OFF scripts/build-llama-server.sh" in text, "portable build"
    assert "/usr/local/bin/llama-server" in text


def test_vllm_profile_serves_the_production_model_to_the_openai_backend(
    compose: dict[str, Any],
) -> None:
    """The GPU scale path: what the chat must be told (README) matches what vLLM serves."""
    from rag_core.generation.model_files import PRODUCTION

    vllm = compose["services"]["vllm"]
    assert vllm["profiles"] == ["vllm"] and re.fullmatch(
        r"vllm/vllm-openai:v\d+\.\d+\.\d+", vllm["image"]
    )
    command = vllm["command"]
    assert command[command.index("--served-model-name") + 1] == PRODUCTION
    assert vllm["expose"] == ["8000"] and "/health" in " ".join(vllm["healthcheck"]["test"])
    devices = vllm["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["capabilities"] == ["gpu"]
    assert "hf-cache:/root/.cache/huggingface" in vllm["volumes"]
    assert f"RAGDESK_LLM_MODEL={PRODUCTION}" in COMPOSE.read_text()


def test_monitoring_profile_scrapes_every_metrics_endpoint(compose: dict[str, Any]) -> None:
    services = compose["services"]
    prometheus, grafana = services["prometheus"], services["grafana"]
    assert prometheus["profiles"] == grafana["profiles"] == ["monitoring"]
    assert re.fullmatch(r"prom/prometheus:v\d+\.\d+\.\d+", prometheus["image"])
    assert re.fullmatch(r"grafana/grafana:\d+\.\d+\.\d+", grafana["image"])
    port = services["app"]["environment"]["RAGDESK_METRICS_PORT"]
    assert services["ingest-worker"]["environment"]["RAGDESK_METRICS_PORT"] == port
    assert services["app"]["environment"]["RAGDESK_METRICS_HOST"] == "0.0.0.0"
    config = yaml.safe_load((REPO / "deploy" / "prometheus.yml").read_text())
    targets = {
        job["job_name"]: target
        for job in config["scrape_configs"]
        for static in job["static_configs"]
        for target in static["targets"]
    }
    assert targets == {
        "ragdesk-chat": f"app:{port}",
        "ragdesk-ingest": f"ingest-worker:{port}",
        "llama-server": f"llm:{services['llm']['environment']['RAGDESK_LLM_SERVER_PORT']}",
    }


def test_grafana_dashboard_charts_only_metrics_ragdesk_exports() -> None:
    import json

    from prometheus_client import REGISTRY

    import rag_core.observability.telemetry  # noqa: F401 - registers the metrics

    exported = {
        sample_name
        for family in REGISTRY.collect()
        if family.name.startswith("ragdesk_")
        for sample_name in _sample_names(family)
    }
    dashboard = json.loads((REPO / "deploy/grafana/dashboards/ragdesk.json").read_text())
    used = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"ragdesk_[a-z_]+", target["expr"])
    }
    assert used and used <= exported, f"unknown metrics: {sorted(used - exported)}"
    assert {"ragdesk_questions_total", "ragdesk_ingest_failures_total"} <= used
    provisioning = REPO / "deploy/grafana/provisioning"
    datasource = yaml.safe_load((provisioning / "datasources/prometheus.yml").read_text())
    assert datasource["datasources"][0]["url"] == "http://prometheus:9090"
    panels_source = {p["datasource"]["uid"] for p in dashboard["panels"]}
    assert panels_source == {datasource["datasources"][0]["uid"]}


def _sample_names(family: Any) -> set[str]:
    kinds = {
        "counter": ["_total"],
        "histogram": ["_bucket", "_sum", "_count"],
        "gauge": [""],
    }
    return {family.name + suffix for suffix in kinds.get(family.type, [""])}
