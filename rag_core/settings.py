"""One configuration object for every ragdesk entry point.

Values come from (highest first) explicit arguments, `RAGDESK_*` environment variables,
an optional `.env` file, then the defaults below. Code receives a `Settings` instance;
nothing deep inside reads the environment.

The fields stay flat (they are the `RAGDESK_*` names); each component reads its own
read-only section (`settings.embedding`, `settings.generation`, ...), a frozen dataclass
that also serves as the cache key of what the component builds.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PdfEngine = Literal["pypdf", "pdfium"]
EmbedBackend = Literal["auto", "torch", "onnx", "onnx-int8"]


@dataclass(frozen=True, slots=True)
class EmbeddingSettings:
    """What shapes the embedder: its model, backend, threads, where builds and vectors are
    kept, and the chunk size its window must hold."""

    model: str
    backend: EmbedBackend
    batch_size: int
    threads: int
    builds_dir: Path
    cache_dir: Path
    chunk_tokens: int


@dataclass(frozen=True, slots=True)
class GenerationSettings:
    """What shapes the answer model: backend, model, server, context and sampling."""

    backend: Literal["llama_cpp", "openai"]
    model: str
    models_dir: Path
    base_url: str | None
    api_key: str | None
    context_tokens: int
    threads: int
    gpu_layers: int
    temperature: float
    seed: int
    cache_prompt: bool
    parallel: int  # answers a server backend is sent at once (max_concurrent_answers)


@dataclass(frozen=True, slots=True)
class AdmissionSettings:
    """The answer slots, the line for them, and how long one may wait or hold a slot."""

    max_concurrent: int
    max_queued: int
    queue_timeout_s: float
    answer_timeout_s: float


@dataclass(frozen=True, slots=True)
class RetrievalSettings:
    """How a question searches: vector kinds, fusion and its weights, depth."""

    mode: Literal["dense", "sparse", "hybrid"]
    fusion: Literal["rrf", "dbsf"]
    rrf_k: int
    dense_weight: float | None
    sparse_weight: float | None
    english_weight: float | None
    prefetch: int


@dataclass(frozen=True, slots=True)
class StoreSettings:
    """Where the index lives: a server URL (wins), or the embedded engine's folder."""

    qdrant_dir: Path
    qdrant_url: str | None
    qdrant_api_key: str | None
    collection: str

    @property
    def location(self) -> str:
        """As an open store's `location` says it: the server's URL, or the folder."""
        return self.qdrant_url or str(self.qdrant_dir.resolve())


@dataclass(frozen=True, slots=True)
class MetricsSettings:
    """The Prometheus endpoint (port None: off)."""

    host: str
    port: int | None


@dataclass(frozen=True, slots=True)
class ConversationSettings:
    """The kept conversations (chat sidebar and API): their SQLite file, how long an unused
    one stays, and the longest question either front end accepts."""

    path: Path
    keep_days: int
    max_question_chars: int


@dataclass(frozen=True, slots=True)
class ApiSettings:
    """`ragdesk serve-api`: where it listens and where the hashed bearer keys are kept."""

    host: str
    port: int
    keys_path: Path


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
    # Collections ragdesk creates on a Qdrant server: shards, copies of each shard, and the
    # copies that must confirm a write (a 3-node cluster: e.g. 6, 2, 1; one server: 1, 1, 1).
    qdrant_shards: int = Field(default=1, ge=1, le=1024)
    qdrant_replication: int = Field(default=1, ge=1, le=32)
    qdrant_write_consistency: int = Field(default=1, ge=1, le=32)
    collection: str = Field(default="documents", pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    models_path: Path | None = Field(
        default=None, description="Folder of GGUF files (default: DATA_DIR/models)."
    )
    # Where original files may be served from (the chat's download buttons). Empty: the
    # folder each collection was last ingested from.
    document_roots: Annotated[list[Path], NoDecode] = Field(default_factory=list)

    # Embedding: a packaged preset (multilingual-e5-small, all-MiniLM-L6-v2), a path to a
    # sentence-transformers model folder, or a hub id (downloaded once, where a network
    # exists). auto: an existing collection keeps the model that built it, a new one gets
    # multilingual-e5-small (questions in one language find passages in another).
    embed_model: str = "auto"
    # torch only: the ONNX backends run one text per call (no padding), which is faster.
    embed_batch_size: int = Field(default=16, ge=1, le=512)
    # torch: its threads; ONNX: texts embedded at once, one thread each. 0 = one per core.
    embed_threads: int = Field(default=0, ge=0)
    # How the embedder runs. auto: an existing collection keeps the backend it was built with
    # (its vectors differ slightly between backends), a new one gets the fastest backend
    # that keeps faq-dev nDCG@10 within 0.005 of torch (measured: onnx-int8).
    embed_backend: EmbedBackend = "auto"
    # Where ONNX builds of the embedder are made on first use (default: MODELS_DIR/embedders).
    embedder_dir: Path | None = None

    # Languages of the documents, for the lexical (BM25) side: stop words and stemmers
    # (rag_core/sparse.py), e.g. "es,en"; "none": words as written. Fixed per collection
    # (`ingest --rebuild` changes it); auto: a collection keeps its own, a new one gets en,es.
    document_languages: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["auto"])

    # Chunking, in embedder tokens (the model window bounds chunk_tokens).
    chunk_tokens: int = Field(default=200, ge=32, le=8192)
    chunk_overlap: int = Field(default=30, ge=0, le=1024)
    # Contents and index pages (lines of headings with dot leaders to page numbers) are left
    # out of the index: they outrank the passages they list and answer nothing
    # (ingest/contents_pages.py). True keeps them. Applies to files as they are (re)indexed.
    index_contents_pages: bool = False
    # Vectors (dense and sparse) of a chunk see its document title and section breadcrumb
    # ahead of the text; the stored, cited text stays the passage alone.
    embed_headers: bool = True
    # A second dense vector per chunk from the English embedder (all-MiniLM-L6-v2), searched
    # by English questions and by other questions' English translations beside the
    # multilingual one (rag_core/embedding/english.py). faq-dev nDCG@10 0.754 -> 0.82, and
    # faq-dev-es 0.744 -> 0.80, for a second embedding pass at ingest. Decided when a
    # collection is created (an existing one keeps what it has; `ingest --rebuild` changes it).
    english_vectors: bool = True

    # Ingestion (`ingest` flags with an env var). What one run does (--prune, --dry-run,
    # --rebuild, --json-summary) is not configuration: the ingest CLI passes it to the run.
    groups: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["*"])
    workers: int = Field(default=1, ge=0, le=64, description="Parse processes; 0 = in-process.")
    pdf_engine: PdfEngine = "pdfium"
    # OCR of scans (pages without a text layer, image files): tesseract's language codes
    # joined by "+" (each needs its tesseract-ocr-LANG package); empty turns OCR off. Spanish
    # first: tesseract reads accents and ñ only with spa, and English text reads as well.
    ocr_languages: str = Field(default="spa+eng", pattern=r"^([A-Za-z_]+(\+[A-Za-z_]+)*)?$")
    # 200 read 99 % of a page's words, as well as 300, in half the time (2 cores).
    ocr_dpi: int = Field(default=200, ge=72, le=600, description="PDF pages rendered for OCR.")
    # Groups of each file from its POSIX owner group, mode bits and ACLs (mapped by the group
    # map file) instead of --groups; .ragdesk-acl.yaml files still override.
    acl_from_fs: bool = False
    # `ingest --watch`: how often the folder is looked at, and how long a file must stay
    # unchanged before it is read (so a file still being copied is never ingested).
    watch_interval_s: float = Field(default=5.0, gt=0)
    watch_settle_s: float = Field(default=3.0, ge=0)
    # Where the chat puts uploads when an ingestion worker owns all writes (its watched
    # folder); empty: the chat indexes uploads itself (single machine, embedded index).
    inbox_dir: Path | None = None

    # Ingestion on a Ray cluster (`ingest --ray`, the watching worker too): its address
    # ("HOST:6379" on a cluster node, "ray://HOST:10001" from outside); unset: this machine
    # parses and embeds. This machine keeps discovery, the manifest and the writes.
    ray_address: str | None = None
    # Files sent to the cluster and not yet written back (0: two per CPU of the cluster),
    # and their bytes at most (one larger file still goes alone): the driver's memory bound.
    ray_in_flight: int = Field(default=0, ge=0, le=10_000)
    ray_in_flight_mb: int = Field(default=512, ge=1)
    # Runs of a file's task after its worker or node died (Ray retries it elsewhere); a
    # file that kills its worker every time is then reported as failed.
    ray_task_retries: int = Field(default=2, ge=0, le=10)

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
    # The English vector's weight in the same fusion (collections that have one; unset: the
    # measured default of the fusion).
    english_weight: float | None = Field(default=None, ge=0)
    prefetch: int = Field(default=50, ge=1, le=1000)
    top_k: int = Field(default=4, ge=1, le=50, description="Passages given to the model.")
    # The first N of them are given with the chunk that follows each in its section
    # (rag_core/answering/continuation.py): an answer often opens the chunk after the one
    # whose words match the question. answers-corpus, gold passage given / prompt tokens:
    # 6 passages 0.862 / 1,014; 4 each continued 0.897 / 1,128; 0 = off.
    continued_passages: int = Field(default=4, ge=0, le=50)
    # A question naming something (a capitalised word after the first, an identifier) that
    # no document the asker may see mentions is refused as not found, before any model
    # call (rag_core/answering/unknown_names.py).
    refuse_unknown_names: bool = True
    # The first N candidates of the fused search re-scored by their sentence closest to the
    # question (rag_core/answering/rerank.py), and the best top_k kept; 0 = off.
    rerank_depth: int = Field(default=0, ge=0, le=200)

    # A question in another language is translated into this one by the answering model and
    # searched in both (rag_core/answering/question_translation.py): most documentation is
    # in English, and the multilingual embedder matches a Spanish question with an English
    # passage far worse than its translation (faq-dev-es 0.652 -> 0.744 nDCG@10, +1.4 s
    # with the 1.5B; 0.5B ~0.6 s). A question the floor would refuse in its own words is
    # answered when its translation reaches the floor. off: search with the question only.
    translate_questions_to: Literal["off", "en", "es"] = "en"

    # Passages whose relevance is this far below the best one are not given to the model
    # (fewer prompt tokens, less for a small model to be distracted by); 1 keeps all.
    # Unset: the margin measured for the collection's embedder (rag_core/embedding/relevance.py).
    passage_margin: float | None = Field(default=None, ge=0, le=1)

    # Below this question/passage cosine: 'not found', no model call. Unset: the floor
    # measured for the collection's embedder (rag_core/embedding/relevance.py).
    min_relevance: float | None = Field(default=None, ge=-1, le=1)

    # Generation.
    llm_backend: Literal["llama_cpp", "openai"] = "llama_cpp"
    llm_model: str = Field(default="auto", description="GGUF path, preset name, or auto.")
    llm_base_url: str | None = Field(default=None, description="OpenAI-compatible server.")
    llm_api_key: str | None = None
    llm_context_tokens: int = Field(default=4096, ge=512)
    llm_threads: int = Field(default=0, ge=0, description="0 = one per physical core.")
    llm_gpu_layers: int = Field(default=0, description="-1 = all layers on the GPU.")
    llm_temperature: float = Field(default=0.1, ge=0, le=2)
    llm_seed: int = 7
    answer_tokens: int = Field(default=400, ge=16, le=8192)
    # Citation verification: each cited answer sentence is scored against its passage
    # (rag_core/answering/citation_check.py); below the threshold (measured by `ragdesk eval
    # support`) or with a number or name the passage lacks, it is re-cited to a source that
    # backs it, or marked.
    verify_citations: bool = True
    support_threshold: float = Field(default=0.7, ge=0, le=1)
    # OpenAI-compatible backend: ask the server to reuse the KV cache of the prompt's common
    # prefix (the fixed system prompt). llama-server honours it; others ignore the field.
    llm_cache_prompt: bool = True
    # `ragdesk serve-model` (llama.cpp's llama-server, continuous batching): slots answered
    # at once, where it listens, and the binary (default: scripts/build-llama-server.sh's).
    llm_server_parallel: int = Field(default=4, ge=1, le=64)
    llm_server_host: str = "127.0.0.1"
    llm_server_port: int = Field(default=8080, ge=1, le=65535)
    llm_server_binary: Path | None = None

    # Admission: answers generated at once per chat process (the in-process llama.cpp model
    # answers one at a time whatever this says), how many may wait, and how long an answer
    # may hold its slot (an abandoned stream frees it at the latest then).
    max_concurrent_answers: int = Field(default=4, ge=1, le=256)
    max_queued_answers: int = Field(default=16, ge=0, le=10_000)
    answer_timeout_s: float = Field(default=300.0, gt=0)
    queue_timeout_s: float = Field(default=120.0, gt=0, description="Longest wait for a slot.")

    # Prometheus metrics on their own port (chat process and `ingest --watch`); unset: off.
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    metrics_host: str = "127.0.0.1"

    # The chat's language: auto follows the browser's Accept-Language (else English); each
    # reader can switch in the sidebar. Answers follow the language of each question.
    language: Literal["auto", "en", "es"] = "auto"

    # Who is asking. open: single user, no sign-in (local quick start); password: users
    # file with bcrypt hashes; header: a reverse proxy's authenticated-user header; ldap:
    # the company directory (LDAP / Active Directory), groups mapped by the group map file.
    auth: Literal["open", "password", "header", "ldap"] = "open"
    users_file: Path | None = Field(default=None, description="Default: DATA_DIR/users.yaml.")
    auth_header: str = "X-Forwarded-User"
    session_minutes: int = Field(default=480, ge=1, description="Idle time before sign-out.")
    login_max_failures: int = Field(default=5, ge=1, description="Per user, per lockout window.")
    login_lockout_minutes: int = Field(default=15, ge=1)
    # Outside groups (directory, file server) -> ragdesk groups, and who is admin.
    group_map_file: Path | None = Field(
        default=None, description="Default: DATA_DIR/group-map.yaml."
    )
    # LDAP sign-in: the user's own bind, over LDAPS (ldaps://) or StartTLS (ldap://).
    ldap_url: str | None = Field(default=None, description="ldaps://dc.example.org or ldap://...")
    ldap_start_tls: bool = True  # for ldap:// URLs
    ldap_allow_plain: bool = False  # a password in clear on the network: only when told so
    ldap_ca_file: Path | None = Field(default=None, description="CA that signed the server cert.")
    # Bind name for a user: a DN template ("uid={user},ou=people,dc=example,dc=org") or an
    # AD user principal ("{user}@corp.example.org").
    ldap_user_dn: str = ""
    ldap_base_dn: str = Field(default="", description="Where user entries and groups live.")
    ldap_user_filter: str = "(uid={user})"  # AD: (sAMAccountName={user})
    # memberof: the user entry's memberOf (AD, OpenLDAP memberof overlay); search: groups
    # whose member is the user. Nested groups are followed either way.
    ldap_group_source: Literal["memberof", "search"] = "memberof"
    ldap_group_filter: str = "(|(member={dn})(uniqueMember={dn}))"
    # A read-only service account: groups of a named user without their password (`ragdesk
    # ask --user`) and the chat's periodic re-check of a signed-in user's groups.
    ldap_bind_dn: str | None = None
    ldap_bind_password: str | None = None
    ldap_timeout_s: float = Field(default=5.0, gt=0)
    ldap_cache_s: float = Field(default=60.0, ge=0, description="How long looked-up groups stay.")
    audit_max_mb: int = Field(default=20, ge=1, description="Audit log size before rotating.")
    audit_backups: int = Field(default=10, ge=1)

    # Kept conversations (chat sidebar and API): deleted after this many days unused.
    conversation_days: int = Field(default=90, ge=1)
    # The longest question the chat and the API accept (characters).
    max_question_chars: int = Field(default=2000, ge=10, le=100_000)

    # `ragdesk serve-api`: the HTTP API (FastAPI on uvicorn), bearer keys per user.
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=1, le=65535)

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

    @field_validator("document_languages", mode="before")
    @classmethod
    def _languages_from_csv(cls, value: object) -> object:
        return _split_groups(value)

    @field_validator("document_languages")
    @classmethod
    def _languages_known(cls, value: list[str]) -> list[str]:
        from rag_core.embedding.sparse import parse_languages
        from rag_core.types import ConfigurationError

        if [v.lower() for v in value] in ([], ["auto"]):
            return ["auto"]
        try:
            return list(parse_languages(value))
        except ConfigurationError as exc:
            raise ValueError(str(exc)) from exc

    @field_validator("groups")
    @classmethod
    def _groups_not_empty(cls, value: list[str]) -> list[str]:
        return value or ["*"]

    @model_validator(mode="after")
    def _overlap_below_size(self) -> Settings:
        if self.chunk_overlap >= self.chunk_tokens:
            raise ValueError("chunk_overlap must be smaller than chunk_tokens")
        return self

    @model_validator(mode="after")
    def _consistency_within_replicas(self) -> Settings:
        if self.qdrant_write_consistency > self.qdrant_replication:
            raise ValueError(
                "qdrant_write_consistency cannot exceed qdrant_replication (copies to confirm "
                "a write > copies kept)"
            )
        return self

    @model_validator(mode="after")
    def _ldap_complete(self) -> Settings:
        if self.auth != "ldap":
            return self
        if not self.ldap_url or not self.ldap_user_dn or not self.ldap_base_dn:
            raise ValueError(
                "RAGDESK_AUTH=ldap needs RAGDESK_LDAP_URL, RAGDESK_LDAP_USER_DN and "
                "RAGDESK_LDAP_BASE_DN"
            )
        if not self.ldap_url.lower().startswith(("ldap://", "ldaps://")):
            raise ValueError("RAGDESK_LDAP_URL must start with ldaps:// or ldap://")
        plain = self.ldap_url.lower().startswith("ldap://") and not self.ldap_start_tls
        if plain and not self.ldap_allow_plain:
            raise ValueError(
                "an ldap:// URL without StartTLS would send passwords in clear: use ldaps://, "
                "keep RAGDESK_LDAP_START_TLS on, or set RAGDESK_LDAP_ALLOW_PLAIN=true"
            )
        return self

    # -- read-only sections: one per component --------------------------------------------

    @property
    def embedding(self) -> EmbeddingSettings:
        return EmbeddingSettings(
            model=self.embed_model,
            backend=self.embed_backend,
            batch_size=self.embed_batch_size,
            threads=self.embed_threads,
            builds_dir=self.embedders_dir,
            cache_dir=self.state_dir,
            chunk_tokens=self.chunk_tokens,
        )

    @property
    def generation(self) -> GenerationSettings:
        return GenerationSettings(
            backend=self.llm_backend,
            model=self.llm_model,
            models_dir=self.models_dir,
            base_url=self.llm_base_url,
            api_key=self.llm_api_key,
            context_tokens=self.llm_context_tokens,
            threads=self.llm_threads,
            gpu_layers=self.llm_gpu_layers,
            temperature=self.llm_temperature,
            seed=self.llm_seed,
            cache_prompt=self.llm_cache_prompt,
            parallel=self.max_concurrent_answers,
        )

    @property
    def admission(self) -> AdmissionSettings:
        return AdmissionSettings(
            max_concurrent=self.max_concurrent_answers,
            max_queued=self.max_queued_answers,
            queue_timeout_s=self.queue_timeout_s,
            answer_timeout_s=self.answer_timeout_s,
        )

    @property
    def retrieval(self) -> RetrievalSettings:
        return RetrievalSettings(
            mode=self.retrieval_mode,
            fusion=self.fusion,
            rrf_k=self.rrf_k,
            dense_weight=self.dense_weight,
            sparse_weight=self.sparse_weight,
            english_weight=self.english_weight,
            prefetch=self.prefetch,
        )

    @property
    def store(self) -> StoreSettings:
        return StoreSettings(
            qdrant_dir=self.qdrant_dir,
            qdrant_url=self.qdrant_url,
            qdrant_api_key=self.qdrant_api_key,
            collection=self.collection,
        )

    @property
    def metrics(self) -> MetricsSettings:
        return MetricsSettings(host=self.metrics_host, port=self.metrics_port)

    @property
    def conversations(self) -> ConversationSettings:
        return ConversationSettings(
            path=self.conversations_path,
            keep_days=self.conversation_days,
            max_question_chars=self.max_question_chars,
        )

    @property
    def api(self) -> ApiSettings:
        return ApiSettings(host=self.api_host, port=self.api_port, keys_path=self.api_keys_path)

    # -- derived paths ---------------------------------------------------------------------

    @property
    def group_map_path(self) -> Path:
        return self.group_map_file or self.data_dir / "group-map.yaml"

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

    @property
    def conversations_path(self) -> Path:
        return self.state_dir / "conversations.sqlite3"

    @property
    def api_keys_path(self) -> Path:
        return self.state_dir / "api-keys.sqlite3"


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
