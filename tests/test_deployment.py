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
    assert set(services) == {"qdrant", "model", "app", "ingest-worker", "app-gpu"}
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
    for name in ("app", "ingest-worker", "app-gpu"):
        assert services[name]["depends_on"]["qdrant"]["condition"] == "service_healthy"
    assert services["app"]["depends_on"]["model"]["condition"] == ("service_completed_successfully")


def test_volumes_are_named_and_shared_where_they_must_be(compose: dict[str, Any]) -> None:
    declared = set(compose["volumes"])
    assert declared == {"qdrant-storage", "data", "models", "inbox"}
    for name, service in compose["services"].items():
        for mount in service.get("volumes", []):
            volume = mount.split(":", 1)[0]
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
    assert stages == ["build", "runtime", "build-gpu", "runtime-gpu"]
    assert text.count("-DGGML_NATIVE=OFF") == 2, "runs on any x86-64 CPU"
    assert "-DGGML_CUDA=on" in text
    assert "unstructured[pdf]" not in text
    assert "torch==2.13.0" in text, "the CPU torch wheel first, never a CUDA one by accident"
