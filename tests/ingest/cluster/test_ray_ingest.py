"""Ingestion on a real Ray cluster (`ingest --ray`): a head and a second node, each a
separate `ray start` process on 127.0.0.2, against a local run of the same files.

What "the same index" means here: the same point ids, chunk texts and payloads (all but
`ingested_at`, the run's own clock), the same sparse vectors, dense vectors equal to
float32 rounding, and the same manifest rows. Both runs write through qdrant-client's
local mode, whose points can be read back whole with their vectors.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import pytest
from qdrant_client import QdrantClient

from ingest.cluster import dispatch
from ingest.cluster.connect import connect, disconnect
from ingest.cluster.node_work import EmbedSpec, NodeOutcome, process_file
from ingest.parse_job import ParseJob
from ingest.pipeline import IngestReport, open_manifest, run_ingest
from rag_core.embedding.embedder import Embedder
from rag_core.settings import Settings
from rag_core.store.client import ClientStore
from rag_core.store.schema import DENSE, ENGLISH, SPARSE
from rag_core.types import Payload
from tests.ray_cluster import RayCluster, ray_cluster
from tests.servers import free_port

SUBSET = (
    "markdown/etcd.op-guide.failures.md",
    "markdown/etcd.learning.data_model.md",
    "markdown/etcd.op-guide.recovery.md",
    "text/debian-source-unpack.txt",
    "text/debian-social-contract.txt",
    "html/postgresql15.logical-replication-quick-setup.html",
)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory, shared_docs: Path) -> Path:
    root = tmp_path_factory.mktemp("ray-corpus")
    for name in SUBSET:
        (root / Path(name).name).write_bytes((shared_docs / name).read_bytes())
    return root


@pytest.fixture(scope="module")
def cluster(
    tmp_path_factory: pytest.TempPathFactory, embedder_builds: Path, embedder: Embedder
) -> Iterator[RayCluster]:
    """Head plus node B; the embedder's ONNX build exists before the nodes look for it."""
    embedder.embed(["warm the build"])
    with ray_cluster(tmp_path_factory.mktemp("ray"), embedder_builds) as running:
        running.add_node("node-b")
        try:
            connect(running.address)
            running.wait_for_nodes(2)
            yield running
        finally:
            disconnect()


def run(root: Path, data: Path, embedder: Embedder, **changes: Any) -> tuple[IngestReport, Any]:
    """One ingest into a fresh qdrant-client local store; the report and the index read back."""
    settings = Settings(data_dir=data, workers=1, **changes)
    client = QdrantClient(path=str(data / "qdrant"))
    store = ClientStore(client, settings.collection, "local")
    try:
        report = run_ingest(root, settings, store, embedder)
        manifest = open_manifest(settings, store)
        rows = {
            source: (r.file_hash, r.chunks, r.format, r.acl) for source, r in manifest.all().items()
        }
        manifest.close()
        points, _ = client.scroll(
            settings.collection, limit=100_000, with_payload=True, with_vectors=True
        )
        return report, (rows, points)
    finally:
        store.close()


@pytest.fixture(scope="module")
def local_index(
    corpus: Path, tmp_path_factory: pytest.TempPathFactory, embedder: Embedder
) -> tuple[IngestReport, Any]:
    return run(corpus, tmp_path_factory.mktemp("local"), embedder)


def assert_same_index(got: Any, want: Any) -> None:
    (got_rows, got_points), (want_rows, want_points) = got, want
    assert got_rows == want_rows
    by_id = {str(p.id): p for p in got_points}
    assert set(by_id) == {str(p.id) for p in want_points}
    assert len(got_points) == len(want_points)
    for expected in want_points:
        point = by_id[str(expected.id)]
        assert _comparable(point.payload) == _comparable(expected.payload)
        assert np.allclose(point.vector[DENSE], expected.vector[DENSE], atol=1e-6)
        assert point.vector[SPARSE].indices == expected.vector[SPARSE].indices
        assert np.allclose(point.vector[SPARSE].values, expected.vector[SPARSE].values)
        assert (ENGLISH in point.vector) == (ENGLISH in expected.vector)
        if ENGLISH in expected.vector:
            assert np.allclose(point.vector[ENGLISH], expected.vector[ENGLISH], atol=1e-6)


def _comparable(payload: dict[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (payload or {}).items() if k != Payload.INGESTED_AT}


def test_the_cluster_builds_the_same_index_as_a_local_run(
    cluster: RayCluster,
    corpus: Path,
    local_index: tuple[IngestReport, Any],
    tmp_path: Path,
    embedder: Embedder,
) -> None:
    report, index = run(corpus, tmp_path / "ray", embedder, ray_address=cluster.address)

    assert not report.failures and report.files_new == len(SUBSET)
    assert report.chunks_written == local_index[0].chunks_written > 0
    assert_same_index(index, local_index[1])
    assert len(report.nodes) == 2  # both nodes parsed and embedded
    assert sum(node["files"] for node in report.nodes.values()) == len(SUBSET)
    assert all(node["chunks_per_s"] > 0 for node in report.nodes.values())


def test_the_nodes_write_english_vectors_as_a_local_run_does(
    cluster: RayCluster, tmp_path: Path, shared_docs: Path, e5_embedder: Embedder
) -> None:
    """A multilingual collection's English vectors (rag_core/embedding/english.py) are
    computed on the nodes too, with the embedder the collection records."""
    root = tmp_path / "small"
    root.mkdir()
    for name in ("text/debian-social-contract.txt", "markdown/etcd.learning.data_model.md"):
        (root / Path(name).name).write_bytes((shared_docs / name).read_bytes())
    e5_embedder.embed(["warm the build"])  # the nodes find e5's build made
    local = run(root, tmp_path / "local", e5_embedder)
    report, index = run(root, tmp_path / "ray", e5_embedder, ray_address=cluster.address)

    assert not report.failures and report.files_new == 2
    points = index[1]
    assert points and all(ENGLISH in point.vector for point in points)
    assert_same_index(index, local[1])


def kill_node_b_on_its_first_file(job: ParseJob, data: bytes, spec: EmbedSpec) -> NodeOutcome:
    """Fault injection on the nodes: node B goes away (every process of it, SIGKILL) while
    it holds a file; on any other node the file is processed as usual."""
    if os.environ.get("RAGDESK_DATA_DIR", "").endswith("node-b"):
        for parent in psutil.Process().parents():  # Ray workers have groups of their own
            if parent.pid == os.getpgid(parent.pid) and "start" in parent.cmdline():
                os.killpg(parent.pid, signal.SIGKILL)  # `ray start` and all it started
        os.killpg(os.getpgid(0), signal.SIGKILL)
    return process_file(job, data, spec)


def test_a_node_killed_mid_run_loses_and_duplicates_nothing(
    cluster: RayCluster,
    corpus: Path,
    local_index: tuple[IngestReport, Any],
    tmp_path: Path,
    embedder: Embedder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Node B dies in the middle of its first file, others still out on the cluster: Ray
    runs B's work again on the head, and the index is the local run's."""
    import ray

    assert sum(1 for n in ray.nodes() if n["Alive"]) == 2
    monkeypatch.setattr(dispatch, "NODE_TASK", kill_node_b_on_its_first_file)

    report, index = run(corpus, tmp_path / "ray", embedder, ray_address=cluster.address)

    assert cluster.nodes[1].process.wait(timeout=60) is not None  # node B is gone
    assert not report.failures and report.files_new == len(SUBSET)
    assert_same_index(index, local_index[1])
    [(_, head)] = report.nodes.items()  # every file, B's included, done by the head
    assert head["files"] == len(SUBSET)


def kill_worker_on_marked_files(job: ParseJob, data: bytes, spec: EmbedSpec) -> NodeOutcome:
    """Fault injection on the nodes: a file whose processing kills the Ray worker."""
    if job.source.startswith("kills-worker"):
        os._exit(1)
    return process_file(job, data, spec)


def test_a_file_that_kills_its_worker_is_failed_and_the_batch_goes_on(
    cluster: RayCluster,
    make_corpus: Callable[..., Path],
    tmp_path: Path,
    embedder: Embedder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = make_corpus("markdown/etcd.op-guide.failures.md", "text/debian-source-unpack.txt")
    (root / "kills-worker.txt").write_text("This file takes its worker down with it.\n")
    monkeypatch.setattr(dispatch, "NODE_TASK", kill_worker_on_marked_files)

    report, (rows, _) = run(
        root, tmp_path / "ray", embedder, ray_address=cluster.address, ray_task_retries=1
    )

    assert [f.path for f in report.failures] == ["kills-worker.txt"]
    assert "worker died on this file 2 times" in report.failures[0].reason
    assert set(rows) == {"etcd.op-guide.failures.md", "debian-source-unpack.txt"}


def test_an_unreachable_cluster_is_exit_status_2(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.txt").write_text("hello\n")
    address = f"127.0.0.1:{free_port()}"  # nothing listens there
    ingest = str(Path(sys.executable).parent / "ingest")
    env = {**os.environ, "RAGDESK_DATA_DIR": str(tmp_path / "data")}
    by_flag = [ingest, str(tmp_path / "docs"), "--ray", address]
    by_env = [ingest, str(tmp_path / "docs"), "--watch"]  # the watching worker, too
    for command, extra in ((by_flag, {}), (by_env, {"RAGDESK_RAY_ADDRESS": address})):
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=120, env={**env, **extra}
        )
        assert result.returncode == 2, result.stderr
        message = " ".join(result.stderr.split())
        assert f"cannot reach the Ray cluster at {address}" in message
    assert not (tmp_path / "data" / "state").exists()  # nothing was started or written
