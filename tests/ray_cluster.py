"""A real Ray cluster for tests: a head and worker nodes, each a separate `ray start --block`
process in its own process group, all on 127.0.0.2 (a loopback address: Ray turns
127.0.0.1 into the machine's outward address, 127.0.0.2 it keeps), one CPU each, a small
object store, no dashboard. Stopping a node kills its whole process group (raylet,
workers, agents): the same as the machine going away, and never `ray stop`, which would
stop every Ray process on the machine.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from tests.conftest import REPO
from tests.servers import free_port

NODE_IP = "127.0.0.2"
RAY = Path(sys.executable).parent / "ray"
OBJECT_STORE_BYTES = 80 * 1024 * 1024  # Ray's floor is 75 MiB


class RayNode:
    def __init__(self, name: str, args: list[str], folder: Path, env: dict[str, str]) -> None:
        self.name = name
        folder.mkdir(parents=True, exist_ok=True)
        self.log = folder / f"{name}.log"
        node_env = {**env, "RAGDESK_DATA_DIR": str(folder / name)}
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [str(RAY), "start", "--block", *args, *_common_args()],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=node_env,
                start_new_session=True,  # its own process group: kill() takes all of it
            )

    def kill(self) -> None:
        """The node dies at once (SIGKILL to every process of it)."""
        _kill_group(self.process.pid)
        self.process.wait(timeout=30)
        _kill_group(self.process.pid)  # anything the leader's death left behind


def _common_args() -> list[str]:
    return [
        f"--node-ip-address={NODE_IP}",
        "--num-cpus=1",
        f"--object-store-memory={OBJECT_STORE_BYTES}",
        "--disable-usage-stats",
        f"--dashboard-agent-listen-port={free_port()}",
        f"--dashboard-agent-grpc-port={free_port()}",
        f"--metrics-export-port={free_port()}",
        f"--runtime-env-agent-port={free_port()}",
    ]


def _kill_group(group: int) -> None:
    with suppress(ProcessLookupError):
        os.killpg(group, signal.SIGKILL)


def node_env(embedder_builds: Path) -> dict[str, str]:
    """The nodes run this checkout's code, with no RAGDESK_* of the developer's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGDESK_")}
    env.update(
        PYTHONPATH=str(REPO),
        RAY_USAGE_STATS_ENABLED="0",
        RAGDESK_EMBEDDER_DIR=str(embedder_builds),
    )
    return env


class RayCluster:
    def __init__(self, folder: Path, env: dict[str, str]) -> None:
        self.folder, self.env = folder, env
        port = free_port()
        self.address = f"{NODE_IP}:{port}"
        self.nodes: list[RayNode] = []
        self.head = self._start(
            "head",
            [
                "--head",
                f"--port={port}",
                "--include-dashboard=false",
                f"--ray-client-server-port={free_port()}",
                f"--temp-dir={folder / 'ray'}",
            ],
        )

    def wait_for_head(self, seconds: float = 60) -> None:
        """Until the head's GCS accepts connections (a driver or node can join)."""
        host, port = self.address.split(":")
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.head.process.poll() is not None:
                raise RuntimeError(f"ray head exited: {self.head.log.read_text()}")
            try:
                with socket.create_connection((host, int(port)), timeout=1):
                    return
            except OSError:
                time.sleep(0.3)
        raise TimeoutError(f"the Ray head did not listen on {self.address} in {seconds} s")

    def _start(self, name: str, args: list[str]) -> RayNode:
        node = RayNode(name, args, self.folder, self.env)
        self.nodes.append(node)
        return node

    def add_node(self, name: str) -> RayNode:
        return self._start(name, [f"--address={self.address}"])

    def wait_for_nodes(self, count: int, seconds: float = 120) -> None:
        """Until `count` nodes are alive (the test's driver must be connected)."""
        import ray

        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            alive = [n for n in ray.nodes() if n["Alive"]]
            if len(alive) >= count:
                return
            for node in self.nodes:
                if node.process.poll() is not None:
                    raise RuntimeError(f"ray node {node.name} exited: {node.log.read_text()}")
            time.sleep(0.5)
        raise TimeoutError(f"{count} Ray nodes not alive after {seconds} s")

    def stop(self) -> None:
        for node in reversed(self.nodes):
            node.kill()


@contextmanager
def ray_cluster(folder: Path, embedder_builds: Path) -> Iterator[RayCluster]:
    cluster = RayCluster(folder, node_env(embedder_builds))
    try:
        cluster.wait_for_head()
        yield cluster
    finally:
        cluster.stop()
