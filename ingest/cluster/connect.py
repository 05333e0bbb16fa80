"""Joining the Ray cluster as its driver, or saying clearly why not (exit status 2).

Ray is imported here only: a run without `--ray` never needs it. An address that does not
answer is found out by a short TCP probe first, because `ray.init` itself keeps retrying
for minutes before it gives up.
"""

from __future__ import annotations

import logging
import socket
from types import ModuleType
from urllib.parse import urlsplit

from rag_core.types import ConfigurationError

PROBE_TIMEOUT_S = 5.0
RAY_CLIENT_PORT = 10001  # `ray://HOST` without a port
NAMESPACE = "ragdesk"


def import_ray() -> ModuleType:
    try:
        import ray
    except ImportError as exc:  # a declared dependency, but a trimmed install may lack it
        raise ConfigurationError(
            "ingesting on a Ray cluster needs the `ray` package (pip install ragdesk with its "
            "dependencies; the version must be the cluster's)"
        ) from exc
    return ray


def bootstrap_host_port(address: str) -> tuple[str, int] | None:
    """(host, port) to probe; None for "auto" (the cluster this machine is a node of)."""
    if address == "auto":
        return None
    if address.startswith("ray://"):
        parts = urlsplit(address)
        if not parts.hostname:
            raise ConfigurationError(f"Ray address {address!r}: no host (use ray://HOST:10001)")
        return parts.hostname, parts.port or RAY_CLIENT_PORT
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ConfigurationError(
            f"Ray address {address!r}: use HOST:PORT (the head's GCS port, 6379 by default), "
            "ray://HOST:10001, or auto"
        )
    return host.strip("[]"), int(port)


def probe(address: str, timeout_s: float = PROBE_TIMEOUT_S) -> None:
    """A TCP connection to the head, or ConfigurationError saying what to check."""
    target = bootstrap_host_port(address)
    if target is None:
        return
    try:
        with socket.create_connection(target, timeout=timeout_s):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigurationError(
            f"cannot reach the Ray cluster at {address}: {reason}. Is the head running there "
            "(`ray start --head`), and is RAGDESK_RAY_ADDRESS / --ray its address?"
        ) from exc


def connect(address: str) -> ModuleType:
    """The `ray` module, connected to the cluster at `address` (once per process)."""
    ray = import_ray()
    if ray.is_initialized():
        return ray
    probe(address)
    try:
        ray.init(
            address=address,
            namespace=NAMESPACE,
            logging_level=logging.WARNING,
            log_to_driver=False,  # the nodes' output stays in their logs, not in our table
            configure_logging=False,
        )
    except (ConnectionError, RuntimeError, ValueError) as exc:  # e.g. a version mismatch
        raise ConfigurationError(f"cannot join the Ray cluster at {address}: {exc}") from exc
    return ray


def disconnect() -> None:
    """Leave the cluster (tests, and a driver that is done): the nodes keep running."""
    try:
        import ray
    except ImportError:
        return
    if ray.is_initialized():
        ray.shutdown()
