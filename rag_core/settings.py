"""One configuration object for every ragdesk entry point.

Values come from (highest first) explicit arguments, `RAGDESK_*` environment variables,
an optional `.env` file, then the defaults below. Code receives a `Settings` instance;
nothing deep inside reads the environment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PdfEngine = Literal["pypdf", "pdfium"]
EmbedBackend = Literal["auto", "torch", "onnx", "onnx-int8"]


def _split_groups(value: object) -> object:
    if isinstance(value, str):
        return [g.strip() for g in value.split(",") if g.strip()]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="RAGDESK_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    # Where local state lives: the embedded Qdrant, manifests, caches, models.
    data_dir: Path = Path("data")
    qdrant_path: Path | None = Field(
        default=None, description="Embedded Qdrant folder (default: DATA_DIR/qdrant)."
    )
    qdrant_url: str | None = Field(default=None, description="Qdrant server URL; wins over path.")
    qdrant_api_key: str | None = None
    collection: str = Field(default="documents", pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    models_path: Path | None = Field(
        default=None, description="Folder of GGUF files (default: DATA_DIR/models)."
    )
    # Where original files may be served from (the chat's download buttons). Empty: the
    # folder each collection was last ingested from.
    document_roots: Annotated[list[Path], NoDecode] = Field(default_factory=list)

    # Embedding: a packaged preset name or a path to a sentence-transformers model folder.
    embed_model: str = "all-MiniLM-L6-v2"
    embed_batch_size: int = Field(default=16, ge=1, le=512)
    embed_threads: int = Field(default=0, ge=0, description="Torch/ONNX threads; 0 = all cores.")
    # How the embedder runs. auto: an existing collection keeps the backend it was built with
    # (its vectors differ slightly between backends), a new one gets the fastest backend
    # that keeps faq-dev nDCG@10 within 0.005 of torch (measured: onnx-int8).
    embed_backend: EmbedBackend = "auto"
    # Where ONNX builds of the embedder are made on first use (default: MODELS_DIR/embedders).
    embedder_dir: Path | None = None

    # Chunking, in embedder tokens (the model window bounds chunk_tokens).
    chunk_tokens: int = Field(default=200, ge=32, le=8192)
    chunk_overlap: int = Field(default=30, ge=0, le=1024)
    # Vectors (dense and sparse) of a chunk see its document title and section breadcrumb
    # ahead of the text; the stored, cited text stays the passage alone.
    embed_headers: bool = True

    # Ingestion run options (the `ingest` flags; every one has an env var too).
    groups: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["*"])
    prune: bool = False
    rebuild: bool = False  # drop the collection and index everything again
    dry_run: bool = False
    workers: int = Field(default=1, ge=0, le=64, description="Parse processes; 0 = in-process.")
    json_summary: Path | None = None
    pdf_engine: PdfEngine = "pdfium"
    # `ingest --watch`: how often the folder is looked at, and how long a file must stay
    # unchanged before it is read (so a file still being copied is never ingested).
    watch_interval_s: float = Field(default=5.0, gt=0)
    watch_settle_s: float = Field(default=3.0, ge=0)
    # Where the chat puts uploads when an ingestion worker owns all writes (its watched
    # folder); empty: the chat indexes uploads itself (single machine, embedded index).
    inbox_dir: Path | None = None

    # Retrieval: dense + sparse fused in Qdrant, then a relevance floor for refusals.
    retrieval_mode: Literal["dense", "sparse", "hybrid"] = "hybrid"
    # dbsf: each search's scores normalised (mean +/- 3 sd) then summed with the weights, so
    # a clear cosine margin counts, not just the rank. Measured on faq-dev: weighted dbsf beat
    # every RRF k and weight tried (0.821 vs 0.801 nDCG@10).
    fusion: Literal["rrf", "dbsf"] = "dbsf"
    rrf_k: int = Field(default=10, ge=1)
    # Weights mean different things per fusion (rrf: rank divisor, dbsf: score factor); unset
    # = the measured default of the chosen fusion (rrf 1:2 at k=10, dbsf 1:0.2).
    dense_weight: float | None = Field(default=None, ge=0)
    sparse_weight: float | None = Field(default=None, ge=0)
    prefetch: int = Field(default=50, ge=1, le=1000)
    top_k: int = Field(default=6, ge=1, le=50, description="Passages given to the model.")

    min_relevance: float = Field(
        default=0.30, description="Below this question/passage cosine: 'not found', no model call."
    )

    # Generation.
    llm_backend: Literal["llama_cpp", "openai"] = "llama_cpp"
    llm_model: str = Field(default="auto", description="GGUF path, preset name, or auto.")
    llm_base_url: str | None = Field(default=None, description="OpenAI-compatible server.")
    llm_api_key: str | None = None
    llm_context_tokens: int = Field(default=4096, ge=512)
    llm_threads: int = Field(default=0, ge=0, description="0 = llama.cpp's default.")
    llm_gpu_layers: int = Field(default=0, description="-1 = all layers on the GPU.")
    llm_temperature: float = Field(default=0.1, ge=0, le=2)
    llm_seed: int = 7
    answer_tokens: int = Field(default=400, ge=16, le=8192)

    # Who is asking. open: single user, no sign-in (local quick start); password: users
    # file with bcrypt hashes; header: a reverse proxy's authenticated-user header.
    auth: Literal["open", "password", "header"] = "open"
    users_file: Path | None = Field(default=None, description="Default: DATA_DIR/users.yaml.")
    auth_header: str = "X-Forwarded-User"
    session_minutes: int = Field(default=480, ge=1, description="Idle time before sign-out.")
    login_max_failures: int = Field(default=5, ge=1, description="Per user, per lockout window.")
    login_lockout_minutes: int = Field(default=15, ge=1)
    audit_max_mb: int = Field(default=20, ge=1, description="Audit log size before rotating.")
    audit_backups: int = Field(default=10, ge=1)

    # Limits that keep bad input from taking the machine down.
    max_file_mb: int = Field(default=256, ge=1)
    max_unzipped_mb: int = Field(default=512, ge=1, description="Cap on an office zip's content.")
    max_text_mb: int = Field(default=64, ge=1, description="Cap on text extracted from one file.")
    parse_timeout_s: int = Field(default=600, ge=1)
    parse_memory_mb: int = Field(default=4096, ge=256, description="Address-space cap per parser.")

    @field_validator("groups", "document_roots", mode="before")
    @classmethod
    def _list_from_csv(cls, value: object) -> object:
        return _split_groups(value)

    @field_validator("groups")
    @classmethod
    def _groups_not_empty(cls, value: list[str]) -> list[str]:
        return value or ["*"]

    @model_validator(mode="after")
    def _overlap_below_size(self) -> Settings:
        if self.chunk_overlap >= self.chunk_tokens:
            raise ValueError("chunk_overlap must be smaller than chunk_tokens")
        return self

    @property
    def qdrant_dir(self) -> Path:
        return self.qdrant_path or self.data_dir / "qdrant"

    @property
    def state_dir(self) -> Path:
        return self.data_dir / "state"

    @property
    def models_dir(self) -> Path:
        return self.models_path or self.data_dir / "models"

    @property
    def embedders_dir(self) -> Path:
        return self.embedder_dir or self.models_dir / "embedders"

    @property
    def users_path(self) -> Path:
        return self.users_file or self.data_dir / "users.yaml"

    @property
    def audit_path(self) -> Path:
        return self.state_dir / "audit.jsonl"

    @property
    def feedback_path(self) -> Path:
        return self.state_dir / "feedback.sqlite3"


def load_settings(**overrides: object) -> Settings:
    """Settings from env/.env, with explicit (non-None) overrides on top: CLI flags."""
    from pydantic import ValidationError

    from rag_core.types import ConfigurationError

    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigurationError(f"invalid settings: {problems}") from exc
