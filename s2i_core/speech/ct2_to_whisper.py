"""Turn CTranslate2 Whisper weights into an openai-whisper checkpoint: both engines, one model.

CTranslate2's model.bin (binary version 4 and later, written by ctranslate2/specs/model_spec.py),
little-endian throughout; a string is a uint16 length counting a final NUL, then the bytes and NUL:

    uint32 binary version, string spec name, uint32 spec revision,
    uint32 variable count, then per variable:
        string name, uint8 rank, uint32 shape[rank], uint8 dtype id, uint32 byte count, bytes
    uint32 alias count, then per alias: string alias, string variable name

The Whisper converter (ctranslate2/converters/transformers.py) fuses the query, key and value
projections of self-attention into one ``linear_0`` and key and value of cross-attention into
``linear_1``. Whisper's key projection has no bias, so the converter filled that slice of the fused
bias with zeros; it is dropped again here.
"""

from __future__ import annotations

import base64
import dataclasses
import gzip
import hashlib
import json
import os
import re
import struct
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from whisper.model import AudioEncoder, ModelDimensions, TextDecoder, Whisper

from ..errors import SpeechModelError
from .weights import BUNDLED_MODELS

# Order of CTranslate2's DataType enum (include/ctranslate2/types.h).
_DTYPES = (torch.float32, torch.int8, torch.int16, torch.int32, torch.float16, torch.bfloat16)
_MIN_BINARY_VERSION = 4  # older files store an item size instead of a dtype id
_LAYER = re.compile(r"layer_(\d+)/")


@dataclasses.dataclass(frozen=True)
class CT2Model:
    spec: str
    revision: int
    variables: dict[str, torch.Tensor]  # aliases resolved: an alias names the same tensor


def read_ct2_model(path: Path) -> CT2Model:
    """Read every variable of a CTranslate2 model.bin into CPU tensors."""
    data = memoryview(Path(path).read_bytes())
    offset = 0

    def take(fmt: str) -> tuple[Any, ...]:
        nonlocal offset
        values = struct.unpack_from("<" + fmt, data, offset)
        offset += struct.calcsize("<" + fmt)
        return values

    def take_string() -> str:
        nonlocal offset
        (length,) = take("H")
        text = bytes(data[offset : offset + length - 1]).decode()
        offset += length
        return text

    try:
        (version,) = take("I")
        if version < _MIN_BINARY_VERSION:
            raise ValueError(f"binary version {version} is older than {_MIN_BINARY_VERSION}")
        spec = take_string()
        (revision,) = take("I")
        variables: dict[str, torch.Tensor] = {}
        (count,) = take("I")
        for _ in range(count):
            name = take_string()
            (rank,) = take("B")
            shape = take(f"{rank}I")
            dtype_id, num_bytes = take("BI")
            raw = bytearray(data[offset : offset + num_bytes])
            if len(raw) != num_bytes:
                raise ValueError(f"variable {name} is cut short")
            offset += num_bytes
            variables[name] = torch.frombuffer(raw, dtype=_DTYPES[dtype_id]).reshape(shape)
        (alias_count,) = take("I")
        for _ in range(alias_count):
            alias, target = take_string(), take_string()
            variables[alias] = variables[target]
            if f"{target}_scale" in variables:  # a quantized weight shares its scale too
                variables[f"{alias}_scale"] = variables[f"{target}_scale"]
    except (struct.error, ValueError, IndexError, KeyError, RuntimeError) as exc:
        raise SpeechModelError(
            f"The Whisper model file {path} is damaged or not a CTranslate2 model ({exc}). "
            "Reinstall the model, or point S2I_WHISPER_MODEL at another one."
        ) from exc
    return CT2Model(spec, revision, variables)


def convert(ct2_folder: Path) -> dict[str, Any]:
    """Build an openai-whisper checkpoint from a CTranslate2 Whisper folder.

    The result is what ``whisper.load_model(path)`` reads after ``torch.save`` ("dims" and
    "model_state_dict"), plus "alignment_heads" in the form of ``Whisper.set_alignment_heads``.
    Weights keep their stored precision (float16 for the bundled models).
    """
    ct2_folder = Path(ct2_folder)
    model = read_ct2_model(ct2_folder / "model.bin")
    if model.spec != "WhisperSpec":
        raise SpeechModelError(
            f"The model in {ct2_folder} is a {model.spec}, not Whisper. "
            "Point S2I_WHISPER_MODEL at a Whisper model."
        )
    weights = _dequantized(model.variables)
    dims = _dimensions(weights)
    state = {**_encoder_state(weights, dims.n_audio_layer), **_decoder_state(weights, dims)}
    _check_complete(state, dims)
    return {
        "dims": dataclasses.asdict(dims),
        "model_state_dict": state,
        "alignment_heads": _alignment_heads(ct2_folder / "config.json", dims),
    }


def cached_checkpoint(ct2_folder: Path, cache_file: Path) -> dict[str, Any]:
    """Return the converted checkpoint, converting and saving it under ``cache_file`` only once.

    The cache remembers which model.bin it came from (path, size and time), so a replaced model
    is converted again. The file appears in one rename: readers never see half a checkpoint.
    """
    source = source_fingerprint(Path(ct2_folder) / "model.bin")
    if cache_file.is_file():
        try:
            checkpoint = torch.load(cache_file, map_location="cpu", weights_only=True)
            if checkpoint.get("source") == source:
                return checkpoint
        except Exception:  # unreadable cache (cut short by a crash, older torch): rebuild it
            pass
    checkpoint = {**convert(ct2_folder), "source": source}
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(prefix=f".{cache_file.name}-", dir=cache_file.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            torch.save(checkpoint, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp_name, cache_file)
    finally:
        Path(temp_name).unlink(missing_ok=True)
    return checkpoint


def source_fingerprint(model_bin: Path) -> str:
    stat = model_bin.stat()
    return f"{model_bin.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"


def cache_name(model_name: str, ct2_folder: Path) -> str:
    """File name of a converted model: the bundled names as they are, folders made unique."""
    if model_name in BUNDLED_MODELS:
        return f"{model_name}.pt"
    digest = hashlib.sha256(str(Path(ct2_folder).resolve()).encode()).hexdigest()[:10]
    return f"{Path(ct2_folder).name}-{digest}.pt"


def build_model(checkpoint: dict[str, Any], device: str | torch.device = "cpu") -> Whisper:
    """The same steps as ``whisper.load_model``, from a checkpoint already in memory."""
    model = Whisper(ModelDimensions(**checkpoint["dims"]))
    model.load_state_dict(checkpoint["model_state_dict"])
    if checkpoint.get("alignment_heads"):
        model.set_alignment_heads(checkpoint["alignment_heads"].encode())
    return model.to(device)


# --- weights -----------------------------------------------------------------------------------
def _dequantized(variables: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Float32 copies of int8/int16 weights (CTranslate2 stores ``q = round(w * scale)``)."""
    weights = {}
    for name, value in variables.items():
        if name.endswith("_scale"):
            continue
        scale = variables.get(f"{name}_scale")
        if scale is not None and not value.is_floating_point():
            scale = scale.float().reshape(-1, *([1] * (value.dim() - 1))) if scale.dim() else scale
            value = value.float() / scale.float()
        weights[name] = value
    return weights


def _dimensions(w: dict[str, torch.Tensor]) -> ModelDimensions:
    def layers(prefix: str) -> int:
        found = {
            int(m.group(1)) for name in w if name.startswith(prefix) and (m := _LAYER.search(name))
        }
        return max(found) + 1

    embeddings = w["decoder/embeddings/weight"]
    return ModelDimensions(
        n_mels=w["encoder/conv1/weight"].shape[1],
        n_audio_ctx=w["encoder/position_encodings/encodings"].shape[0],
        n_audio_state=w["encoder/conv1/weight"].shape[0],
        n_audio_head=int(w["encoder/num_heads"]),
        n_audio_layer=layers("encoder/"),
        n_vocab=embeddings.shape[0],
        n_text_ctx=w["decoder/position_encodings/encodings"].shape[0],
        n_text_state=embeddings.shape[1],
        n_text_head=int(w["decoder/num_heads"]),
        n_text_layer=layers("decoder/"),
    )


def _linear(w: dict[str, torch.Tensor], ct2: str, torch_name: str) -> dict[str, torch.Tensor]:
    return {f"{torch_name}.weight": w[f"{ct2}/weight"], f"{torch_name}.bias": w[f"{ct2}/bias"]}


def _layer_norm(w: dict[str, torch.Tensor], ct2: str, torch_name: str) -> dict[str, torch.Tensor]:
    return {f"{torch_name}.weight": w[f"{ct2}/gamma"], f"{torch_name}.bias": w[f"{ct2}/beta"]}


def _split_projections(
    w: dict[str, torch.Tensor], ct2: str, torch_name: str, parts: tuple[str, ...]
) -> dict[str, torch.Tensor]:
    """Undo a fused projection; the key part gets no bias, as in Whisper's MultiHeadAttention."""
    weights = w[f"{ct2}/weight"].chunk(len(parts))
    biases = w[f"{ct2}/bias"].chunk(len(parts))
    state = {}
    for part, weight, bias in zip(parts, weights, biases, strict=True):
        state[f"{torch_name}.{part}.weight"] = weight
        if part != "key":
            state[f"{torch_name}.{part}.bias"] = bias
    return state


def _block(w: dict[str, torch.Tensor], ct2: str, torch_name: str, cross: bool) -> dict:
    state = {
        **_split_projections(
            w, f"{ct2}/self_attention/linear_0", f"{torch_name}.attn", ("query", "key", "value")
        ),
        **_linear(w, f"{ct2}/self_attention/linear_1", f"{torch_name}.attn.out"),
        **_layer_norm(w, f"{ct2}/self_attention/layer_norm", f"{torch_name}.attn_ln"),
        **_linear(w, f"{ct2}/ffn/linear_0", f"{torch_name}.mlp.0"),
        **_linear(w, f"{ct2}/ffn/linear_1", f"{torch_name}.mlp.2"),
        **_layer_norm(w, f"{ct2}/ffn/layer_norm", f"{torch_name}.mlp_ln"),
    }
    if cross:
        state |= {
            **_linear(w, f"{ct2}/attention/linear_0", f"{torch_name}.cross_attn.query"),
            **_split_projections(
                w, f"{ct2}/attention/linear_1", f"{torch_name}.cross_attn", ("key", "value")
            ),
            **_linear(w, f"{ct2}/attention/linear_2", f"{torch_name}.cross_attn.out"),
            **_layer_norm(w, f"{ct2}/attention/layer_norm", f"{torch_name}.cross_attn_ln"),
        }
    return state


def _encoder_state(w: dict[str, torch.Tensor], n_layer: int) -> dict[str, torch.Tensor]:
    state = {
        **_linear(w, "encoder/conv1", "encoder.conv1"),
        **_linear(w, "encoder/conv2", "encoder.conv2"),
        "encoder.positional_embedding": w["encoder/position_encodings/encodings"],
        **_layer_norm(w, "encoder/layer_norm", "encoder.ln_post"),
    }
    for i in range(n_layer):
        state |= _block(w, f"encoder/layer_{i}", f"encoder.blocks.{i}", cross=False)
    return state


def _decoder_state(w: dict[str, torch.Tensor], dims: ModelDimensions) -> dict[str, torch.Tensor]:
    projection = w.get("decoder/projection/weight")
    if projection is not None and not torch.equal(projection, w["decoder/embeddings/weight"]):
        raise SpeechModelError(
            "This Whisper model's output layer differs from its word embeddings, which the "
            "openai-whisper engine cannot represent. Use the faster-whisper engine for it."
        )
    state = {
        "decoder.token_embedding.weight": w["decoder/embeddings/weight"],
        "decoder.positional_embedding": w["decoder/position_encodings/encodings"],
        **_layer_norm(w, "decoder/layer_norm", "decoder.ln"),
    }
    for i in range(dims.n_text_layer):
        state |= _block(w, f"decoder/layer_{i}", f"decoder.blocks.{i}", cross=True)
    return state


def _check_complete(state: dict[str, torch.Tensor], dims: ModelDimensions) -> None:
    with torch.device("meta"):  # shapes only, no memory
        encoder = AudioEncoder(
            dims.n_mels, dims.n_audio_ctx, dims.n_audio_state, dims.n_audio_head, dims.n_audio_layer
        )
        decoder = TextDecoder(
            dims.n_vocab, dims.n_text_ctx, dims.n_text_state, dims.n_text_head, dims.n_text_layer
        )
    expected = {f"encoder.{k}": v for k, v in encoder.state_dict().items()}
    expected |= {f"decoder.{k}": v for k, v in decoder.state_dict().items()}
    missing = sorted(set(expected) - set(state))
    wrong = [k for k in expected if k in state and expected[k].shape != state[k].shape]
    if missing or wrong:
        raise SpeechModelError(
            f"The Whisper weights could not be converted for the openai-whisper engine "
            f"(missing {missing[:3]}, mismatched {wrong[:3]}). Use the faster-whisper engine."
        )


def _alignment_heads(config_file: Path, dims: ModelDimensions) -> str:
    """Cross-attention heads that follow the audio in time, as ``set_alignment_heads`` wants them.

    Empty when config.json does not list them; Whisper then uses all heads of the upper half.
    """
    try:
        heads = json.loads(config_file.read_text()).get("alignment_heads") or []
    except (OSError, ValueError):
        return ""
    mask = np.zeros((dims.n_text_layer, dims.n_text_head), dtype=bool)
    for layer, head in heads:
        mask[layer, head] = True
    return base64.b85encode(gzip.compress(mask.tobytes())).decode() if heads else ""
