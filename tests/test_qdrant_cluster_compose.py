"""docker-compose.qdrant-cluster.yml, checked without Docker (no daemon here): three Qdrant
nodes of the main file's pinned image, clustering on, one bootstrap peer the others join,
health checks, and the layout settings the collection creation code reads."""

from __future__ import annotations

from typing import Any

import yaml

from rag_core.settings import Settings
from tests.conftest import REPO

NODES = ("qdrant", "qdrant-2", "qdrant-3")


def load(name: str) -> dict[str, Any]:
    return dict(yaml.safe_load((REPO / name).read_text()))


def test_three_pinned_nodes_join_one_cluster() -> None:
    base, cluster = load("docker-compose.yml"), load("docker-compose.qdrant-cluster.yml")
    services = cluster["services"]
    assert set(NODES) <= set(services)
    for name in NODES:
        node = services[name]
        assert node["image"] == base["services"]["qdrant"]["image"]  # one pinned version
        assert node["environment"]["QDRANT__CLUSTER__ENABLED"] == "true"
        assert "/readyz" in " ".join(node["healthcheck"]["test"])
        assert node["healthcheck"]["retries"] >= 3
        command = node["command"]
        assert command[command.index("--uri") + 1] == f"http://{name}:6335"
    assert "--bootstrap" not in services["qdrant"]["command"]
    for name in NODES[1:]:
        command = services[name]["command"]
        assert command[command.index("--bootstrap") + 1] == "http://qdrant:6335"
        assert services[name]["depends_on"]["qdrant"]["condition"] == "service_healthy"
    storages = {services[n]["volumes"][0].split(":")[0] for n in NODES}
    assert len(storages) == 3  # each node its own storage
    assert storages - {"qdrant-storage"} <= set(cluster["volumes"])
    assert "qdrant-storage" in base["volumes"]


def test_ragdesk_services_get_the_layout_settings() -> None:
    services = load("docker-compose.qdrant-cluster.yml")["services"]
    known = {f"RAGDESK_{name.upper()}" for name in Settings.model_fields}
    for name in ("app", "ingest-worker"):
        env = services[name]["environment"]
        assert (
            {
                "RAGDESK_QDRANT_SHARDS",
                "RAGDESK_QDRANT_REPLICATION",
                "RAGDESK_QDRANT_WRITE_CONSISTENCY",
            }
            <= set(env)
            <= known
        )
        assert services[name]["depends_on"]["qdrant-3"]["condition"] == "service_healthy"
