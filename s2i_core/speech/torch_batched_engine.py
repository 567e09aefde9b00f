"""Whisper on torch at the speed of the GPU: every window of a recording in one batch.

What makes it fast (see bench/gpu.py for what each step bought):
- fp16 weights made once at load (the decoder's query/key/value projections fused);
- the recording is cut at VAD pauses into windows of at most 24 s (Whisper base drops words at
  the end of a full 30 s window), and all windows are decoded together: beam search runs on the
  GPU for windows x beams rows at once, with the beam bookkeeping (candidates, finished
  hypotheses, cache reordering) done in tensors, not Python;
- a static key/value cache and a captured CUDA graph for a whole decoder step (one per 32 cache
  positions, so early steps read and reorder a short cache): a step costs one graph launch
  instead of about 200 kernel launches, and the host looks at the GPU only every few steps, to
  see whether every window has finished;
- word times come from the alignment heads' cross-attention recorded during that same decoding
  (the approach of Hugging Face's token timestamps), followed by Whisper's own DTW and rules.

Decoding follows openai-whisper (decoding.py, transcribe.py, timing.py) rule for rule: timestamp
rules, blank and non-speech suppression, beam search with patience 1 and the likelihood ranker,
temperature fallback on compression ratio and log probability (seeded sampling), and the
no-speech skip. Without CUDA it runs the same code eagerly in fp32, which is how CI tests it.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import os
import threading
import time
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from whisper.audio import HOP_LENGTH, N_FFT, N_SAMPLES, SAMPLE_RATE, TOKENS_PER_SECOND, mel_filters
from whisper.decoding import detect_language as whisper_detect_language
from whisper.model import Whisper
from whisper.timing import WordTiming, dtw, median_filter, merge_punctuations
from whisper.tokenizer import Tokenizer, get_tokenizer

from ..settings import Settings
from .base import (
    DecodingOptions,
    Segment,
    TranscriptionInfo,
    Word,
    normalize_language,
)
from .devices import choose_device, cuda_available
from .guards import token_budget

N_FRAMES = N_SAMPLES // HOP_LENGTH  # 3000 mel frames in a 30 s window
TIME_PRECISION = 0.02  # seconds per timestamp token
MAX_INITIAL_TIMESTAMP = 1.0
PREPEND_PUNCTUATION = "\"'“¿([{-"
APPEND_PUNCTUATION = "\"'.。,，!！?？:：”)]}、"


@dataclass(frozen=True)
class BatchOptions:
    """How the batched engine uses the machine; what it decodes follows DecodingOptions."""

    cuda_graphs: bool = True  # replay each decoder step as a captured CUDA graph (CUDA only)
    vad_threads: int = 8  # CPU threads for Silero VAD when decoding on a GPU (the CPU is free)
    max_windows: int = 16  # 30 s windows decoded together; longer recordings take several rounds
    check_every: int = 4  # decoder steps between the host's looks at "has every window finished"
    # windows are packed with speech up to this length: Whisper base drops words at the end of
    # a full 30 s window (WER 0.13 against 0.03 on the 60 s narration at 24 s and at 20 s)
    window_seconds: float = 24.0
    sample_len: int = 224  # tokens a window may produce: Whisper's own limit, n_text_ctx // 2
    seed: int = 0  # fallback sampling is seeded: the same audio gives the same text every run
    # fuse each step's small kernels with torch.compile before capturing it: an experiment for
    # bench/gpu.py, off because it compiles for minutes at load (once per batch size)
    compile: bool = False
    # scaled-dot-product attention kernels the decoder may use ("flash", "efficient", "cudnn",
    # "math"); empty: torch's own choice
    attention: tuple[str, ...] = ()


@dataclass(frozen=True)
class Window:
    """A span of the recording decoded as one 30 s Whisper window."""

    start: int  # first sample
    end: int  # one past the last sample

    @property
    def seconds(self) -> float:
        return (self.end - self.start) / SAMPLE_RATE


# --- windows at VAD pauses ---------------------------------------------------------------------
def plan_windows(
    audio: np.ndarray,
    gap: float = DecodingOptions.hallucination_silence_threshold,
    seconds: float = N_SAMPLES / SAMPLE_RATE,
) -> list[Window]:
    """Cut a recording into windows of at most 30 s at pauses Silero VAD hears; silence is left
    out, and a pause of ``gap`` seconds or more always ends a window (no hallucinated words in
    long silences). Speech longer than 30 s without a pause is cut at its quietest moment."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    longest = int(min(seconds * SAMPLE_RATE, N_SAMPLES))
    options = VadOptions(
        max_speech_duration_s=longest / SAMPLE_RATE - 1,
        speech_pad_ms=400,
        min_silence_duration_ms=160,
    )
    chunks = get_speech_timestamps(audio, options)
    windows: list[Window] = []
    for chunk in chunks:
        start, end = max(0, chunk["start"]), min(len(audio), chunk["end"])
        last = windows[-1] if windows else None
        if last and end - last.start <= longest and start - last.end < gap * SAMPLE_RATE:
            windows[-1] = Window(last.start, end)
        else:
            windows.append(Window(start, min(end, start + N_SAMPLES)))
    return windows


def use_vad_threads(threads: int) -> None:
    """Run Silero VAD on ``threads`` CPU threads. faster-whisper's shared VAD model uses one,
    which makes the VAD the slowest stage of a GPU transcription; the probabilities are the same
    (the threads split the work, not the sums)."""
    import onnxruntime
    from faster_whisper.utils import get_assets_path
    from faster_whisper.vad import get_vad_model

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    options.enable_cpu_mem_arena, options.log_severity_level = False, 4
    get_vad_model().session = onnxruntime.InferenceSession(
        str(Path(get_assets_path()) / "silero_vad_v6.onnx"),
        providers=["CPUExecutionProvider"],
        sess_options=options,
    )


def log_mel_batch(audio: np.ndarray, windows: list[Window], n_mels: int, device) -> Tensor:
    """Whisper's log-Mel spectrogram of each window padded to 30 s: [windows, n_mels, 3000]."""
    batch = torch.zeros(len(windows), N_SAMPLES, device=device)
    for i, w in enumerate(windows):
        batch[i, : w.end - w.start] = torch.from_numpy(audio[w.start : w.end]).to(device)
    stft = torch.stft(
        batch,
        N_FFT,
        HOP_LENGTH,
        window=torch.hann_window(N_FFT, device=device),
        return_complex=True,
    )
    mel = mel_filters(device, n_mels) @ (stft[..., :-1].abs() ** 2)
    log_spec = torch.clamp(mel, min=1e-10).log10()
    log_spec = torch.maximum(log_spec, log_spec.amax(dim=(1, 2), keepdim=True) - 8.0)
    return (log_spec + 4.0) / 4.0


# --- the model, fp16 once ----------------------------------------------------------------------
def prepare_model(model: Whisper, device: str) -> Whisper:
    """fp16 matrices and embeddings on CUDA, made once; LayerNorms stay fp32 as Whisper's own
    LayerNorm computes in fp32 (so no weight is cast again on any step)."""
    model = model.to(device).eval()
    if device == "cuda":
        for module in model.modules():
            if isinstance(module, (nn.Linear, nn.Conv1d, nn.Embedding)):
                module.half()
        model.decoder.positional_embedding.data = model.decoder.positional_embedding.data.half()
    return model


# --- the decoder's weights, ready for one step ------------------------------------------------
@dataclass(frozen=True)
class BlockWeights:
    attn_ln: tuple[Tensor, Tensor]
    qkv: tuple[Tensor, Tensor]  # query, key and value in one matrix (the key has no bias)
    attn_out: tuple[Tensor, Tensor]
    cross_ln: tuple[Tensor, Tensor]
    cross_query: tuple[Tensor, Tensor]
    cross_out: tuple[Tensor, Tensor]
    mlp_ln: tuple[Tensor, Tensor]
    fc1: tuple[Tensor, Tensor]
    fc2: tuple[Tensor, Tensor]


@dataclass(frozen=True)
class DecoderWeights:
    """The text decoder's weights in the model's compute dtype, LayerNorms included, and the
    query/key/value projections fused: fewer, larger kernels per step."""

    embedding: Tensor
    positions: Tensor
    final_ln: tuple[Tensor, Tensor]
    blocks: tuple[BlockWeights, ...]

    @classmethod
    def of(cls, model: Whisper) -> DecoderWeights:
        decoder = model.decoder
        dtype = decoder.token_embedding.weight.dtype

        def pair(module: nn.Module) -> tuple[Tensor, Tensor]:
            return module.weight.to(dtype), module.bias.to(dtype)

        blocks = []
        for block in decoder.blocks:
            attn = block.attn
            qkv_weight = torch.cat([attn.query.weight, attn.key.weight, attn.value.weight])
            qkv_bias = torch.cat(
                [attn.query.bias, torch.zeros_like(attn.query.bias), attn.value.bias]
            )
            blocks.append(
                BlockWeights(
                    attn_ln=pair(block.attn_ln),
                    qkv=(qkv_weight, qkv_bias),
                    attn_out=pair(attn.out),
                    cross_ln=pair(block.cross_attn_ln),
                    cross_query=pair(block.cross_attn.query),
                    cross_out=pair(block.cross_attn.out),
                    mlp_ln=pair(block.mlp_ln),
                    fc1=pair(block.mlp[0]),
                    fc2=pair(block.mlp[2]),
                )
            )
        return cls(
            decoder.token_embedding.weight,
            decoder.positional_embedding.to(dtype),
            pair(decoder.ln),
            tuple(blocks),
        )


# --- logit rules and one batch of windows x rows, with static buffers --------------------------
class LogitRules:
    """openai-whisper's logit filters (SuppressBlank, SuppressTokens, ApplyTimestampRules) for
    all rows at once, without leaving the GPU. The same for every language and task."""

    def __init__(self, tokenizer: Tokenizer, n_vocab: int, device) -> None:
        self.eot, self.ts_begin = tokenizer.eot, tokenizer.timestamp_begin
        vocab = torch.arange(n_vocab, device=device)
        suppress = [
            *tokenizer.non_speech_tokens,
            tokenizer.transcribe,
            tokenizer.translate,
            tokenizer.sot,
            tokenizer.sot_prev,
            tokenizer.sot_lm,
            tokenizer.no_timestamps,
        ]
        if tokenizer.no_speech is not None:
            suppress.append(tokenizer.no_speech)
        self.suppress = torch.isin(vocab, torch.tensor(sorted(set(suppress)), device=device))
        blank = torch.tensor([*tokenizer.encode(" "), tokenizer.eot], device=device)
        self.is_ts = vocab >= self.ts_begin
        self.below_eot = vocab < self.eot
        self.ts_index = vocab - self.ts_begin
        last_initial = round(MAX_INITIAL_TIMESTAMP / TIME_PRECISION)
        # the first token: a timestamp of at most 1 s (which also keeps blank and eot out)
        self.initial = torch.isin(vocab, blank) | ~self.is_ts | (self.ts_index > last_initial)

    def apply(self, s: DecodeSession) -> Tensor:
        """Filter ``s.logits`` in place; returns the log probabilities after filtering."""
        last_ts = (s.step >= 1) & (s.last_tok >= self.ts_begin)
        penult_ts = (s.step < 2) | (s.prev_tok >= self.ts_begin)
        mask = self.suppress | ((s.step == 0) & self.initial)
        mask = mask | ((last_ts & penult_ts)[:, None] & self.is_ts)  # timestamps come in pairs
        mask = mask | ((last_ts & ~penult_ts)[:, None] & self.below_eot)
        # timestamps never decrease, and a segment is never empty
        bound = s.ts_last + torch.where(last_ts & ~penult_ts, 0, 1)
        mask = mask | ((s.ts_last >= 0)[:, None] & self.is_ts & (self.ts_index < bound[:, None]))
        logits = s.logits.masked_fill_(mask, -math.inf)
        # when timestamps together are likelier than any single text token, emit a timestamp
        logprobs = F.log_softmax(logits, dim=-1)
        ts_mass = logprobs[:, self.ts_begin :].logsumexp(dim=-1)
        best_text = logprobs[:, : self.ts_begin].max(dim=-1).values
        logits.masked_fill_((ts_mass > best_text)[:, None] & ~self.is_ts, -math.inf)
        return F.log_softmax(logits, dim=-1)


class DecodeSession:
    """Pre-allocated state for decoding ``windows`` windows with ``rows`` hypotheses each.

    Buffers are allocated once and refilled for every batch, so a CUDA graph captured over one
    decoder step stays valid. Row ``w * rows + j`` is hypothesis ``j`` of window ``w``. Histories
    (token, parent row, log probability, score per step and row) replace copying token lists
    when beams are reordered; only the key/value cache moves with its beam.
    """

    def __init__(
        self,
        model: Whisper,
        weights: DecoderWeights,
        rules: LogitRules,
        windows: int,
        rows: int,
        steps: int,
    ) -> None:
        dims, decoder = model.dims, model.decoder
        device, dtype = decoder.token_embedding.weight.device, decoder.token_embedding.weight.dtype
        self.weights, self.rules, self.W, self.K = weights, rules, windows, rows
        self.R = R = windows * rows
        self.H, self.D = dims.n_text_head, dims.n_text_state // dims.n_text_head
        heads = model.alignment_heads.to_sparse().indices().T.tolist()
        self.align_heads = {
            layer: torch.tensor([h for lay, h in heads if lay == layer], device=device)
            for layer in sorted({layer for layer, _ in heads})
        }
        n_layer, n_audio, length = dims.n_text_layer, dims.n_audio_ctx, PROMPT_MAX + steps
        floats, longs = dict(device=device, dtype=dtype), dict(device=device, dtype=torch.long)
        self.n_audio = n_audio
        self.kv = torch.zeros(n_layer, 2, R, self.H, length, self.D, **floats)  # self-attention
        self.cross_k = torch.zeros(n_layer, windows, self.H, n_audio, self.D, **floats)
        self.cross_v = torch.zeros_like(self.cross_k)
        # the alignment heads' queries and (scaled, transposed) keys, for their scores
        self.align_q = torch.zeros(windows, len(heads), rows, self.D, **floats)
        self.align_kt = torch.zeros(windows, len(heads), self.D, n_audio, **floats)
        self.length = length  # cache positions a step reads: all of them for a captured graph
        self.qk_hist = torch.zeros(steps, R, len(heads), n_audio, **floats)
        self.logits = torch.zeros(R, dims.n_vocab, device=device)
        self.positions = torch.arange(length, device=device)
        self.beam_index = torch.arange(R, device=device) % rows
        self.window_base = torch.arange(windows, device=device) * rows
        self.row_ids = torch.arange(R, device=device)
        self.tokens_in = torch.zeros(R, **longs)
        self.offset = torch.zeros(1, **longs)
        self.step = torch.zeros(1, **longs)
        self.limit = torch.zeros(1, **longs)  # tokens a window may produce in this batch
        self.sum_lp = torch.zeros(R, device=device)
        self.last_tok = torch.full((R,), -1, **longs)
        self.prev_tok = torch.full((R,), -1, **longs)
        self.ts_last = torch.full((R,), -1, **longs)  # last timestamp index so far, -1: none
        self.ended = torch.zeros(R, device=device, dtype=torch.bool)  # sampling: eot reached
        self.tok_hist = torch.zeros(steps, R, **longs)  # token chosen at each step for each row
        self.par_hist = torch.zeros(steps, R, **longs)  # the row whose logits chose it
        self.lp_hist = torch.zeros(steps, R, device=device)  # its log probability
        self.sc_hist = torch.zeros(steps, R, device=device)  # the row's score after it
        # finished beam hypotheses per window; slot ``rows`` takes what does not fit
        self.pool_score = torch.zeros(windows, rows + 1, device=device)
        self.pool_step = torch.zeros(windows, rows + 1, **longs)
        self.pool_row = torch.zeros(windows, rows + 1, **longs)
        self.pool_n = torch.zeros(windows, **longs)
        self.done = torch.zeros(1, device=device, dtype=torch.bool)
        self.graphs: list[torch.cuda.CUDAGraph] = []  # one per LENGTH_STEP cache positions

    def forward(self) -> None:
        """Whisper's text decoder for one token per row: ``tokens_in`` at ``offset`` in,
        ``logits`` out; keys and values go to the static cache, alignment heads' scores to
        ``qk_hist``. About 200 kernels, replayed as one graph on CUDA."""
        w, R, W, K, H, D = self.weights, self.R, self.W, self.K, self.H, self.D
        C, n = H * D, self.length
        x = F.embedding(self.tokens_in, w.embedding) + w.positions.index_select(0, self.offset)
        visible = (self.positions[:n] <= self.offset).view(1, 1, 1, -1)
        filled = 0
        for layer, b in enumerate(w.blocks):
            qkv = F.linear(F.layer_norm(x, (C,), *b.attn_ln), *b.qkv).view(R, 3, H, 1, D)
            self.kv[layer].index_copy_(3, self.offset, qkv[:, 1:].transpose(0, 1))
            keys, values = self.kv[layer, 0, :, :, :n], self.kv[layer, 1, :, :, :n]
            a = F.scaled_dot_product_attention(qkv[:, 0], keys, values, attn_mask=visible)
            x = x + F.linear(a.reshape(R, C), *b.attn_out)
            # the rows of one window share its audio: they are the queries of one attention
            q = F.linear(F.layer_norm(x, (C,), *b.cross_ln), *b.cross_query)
            q = q.view(W, K, H, D).transpose(1, 2)
            a = F.scaled_dot_product_attention(q, self.cross_k[layer], self.cross_v[layer])
            if (heads := self.align_heads.get(layer)) is not None:
                self.align_q[:, filled : filled + len(heads)] = q.index_select(1, heads)
                filled += len(heads)
            x = x + F.linear(a.transpose(1, 2).reshape(R, C), *b.cross_out)
            h = F.gelu(F.linear(F.layer_norm(x, (C,), *b.mlp_ln), *b.fc1))
            x = x + F.linear(h, *b.fc2)
        self.logits.copy_(F.layer_norm(x, (C,), *w.final_ln) @ w.embedding.T)
        qk = (self.align_q @ self.align_kt).transpose(1, 2).reshape(1, R, -1, self.n_audio)
        self.qk_hist.index_copy_(0, self.step, qk)

    def advance(self, tokens: Tensor, parents: Tensor, scores: Tensor, token_lp: Tensor) -> None:
        """Record the step's chosen tokens and carry each row's state over from its parent."""
        for history, value in (
            (self.tok_hist, tokens),
            (self.par_hist, parents),
            (self.lp_hist, token_lp),
            (self.sc_hist, scores),
        ):
            history.index_copy_(0, self.step, value.unsqueeze(0))
        self.sum_lp.copy_(scores)
        self.prev_tok.copy_(self.last_tok.index_select(0, parents))
        self.last_tok.copy_(tokens)
        ts = self.rules.ts_begin
        self.ts_last.copy_(
            torch.where(tokens >= ts, tokens - ts, self.ts_last.index_select(0, parents))
        )
        self.tokens_in.copy_(tokens)
        self.offset.add_(1)
        self.step.add_(1)


PROMPT_MAX = 3  # sot, language, task
LENGTH_STEP = 32  # cache positions between one captured graph and the next


def beam_step(s: DecodeSession) -> None:
    """One step of Whisper's beam search (patience 1) for every window, all in tensors."""
    W, K = s.W, s.K
    logprobs = s.rules.apply(s)
    scores = s.sum_lp[:, None] + logprobs
    # at the first step every beam of a window is the same prompt: only beam 0 proposes
    scores.masked_fill_(((s.step == 0) & (s.beam_index > 0))[:, None], -math.inf)
    top_scores, top_tokens = scores.topk(K + 1, dim=-1)  # [R, K + 1]
    order = top_scores.view(W, -1).argsort(dim=1, descending=True, stable=True)
    cand_scores = top_scores.view(W, -1).gather(1, order)
    cand_tokens = top_tokens.view(W, -1).gather(1, order)
    cand_rows = order // (K + 1) + s.window_base[:, None]
    is_eot = cand_tokens == s.rules.eot
    live_rank = (~is_eot).cumsum(dim=1)  # live candidates up to here
    finished = is_eot & (live_rank < K) & (s.step < s.limit)  # ends seen before the beam filled
    # finished hypotheses fill each window's pool in score order, up to K of them
    slot = s.pool_n[:, None] + finished.cumsum(dim=1) - 1
    slot = torch.where(finished & (slot < K), slot, K)
    s.pool_score.scatter_(1, slot, cand_scores)
    s.pool_step.scatter_(1, slot, s.step.expand_as(slot))
    s.pool_row.scatter_(1, slot, cand_rows)
    s.pool_n.add_((slot < K).sum(dim=1))
    keep = ~is_eot & (live_rank <= K)
    chosen = keep.to(torch.int32).argsort(dim=1, descending=True, stable=True)[:, :K]
    tokens = cand_tokens.gather(1, chosen).view(-1)
    parents = cand_rows.gather(1, chosen).view(-1)
    cache = s.kv[:, :, :, :, : s.length]
    cache.copy_(cache.index_select(2, parents))
    s.advance(tokens, parents, cand_scores.gather(1, chosen).view(-1), logprobs[parents, tokens])
    s.done.copy_((s.pool_n >= K).all() | (s.step >= s.limit))


def sample_step(s: DecodeSession, temperature: float, generator: torch.Generator) -> None:
    """One step of best-of-K sampling at ``temperature`` (rows that ended keep ending)."""
    logprobs = s.rules.apply(s)
    sampled = torch.multinomial(F.softmax(s.logits / temperature, dim=-1), 1, generator=generator)
    tokens = torch.where(s.ended, s.rules.eot, sampled.squeeze(1))
    token_lp = logprobs.gather(1, tokens[:, None]).squeeze(1)
    scores = s.sum_lp + torch.where(s.ended, 0.0, token_lp)
    s.ended |= tokens == s.rules.eot
    s.advance(tokens, s.row_ids, scores, token_lp)
    s.done.copy_(s.ended.all() | (s.step >= s.limit))


# --- what a window decoded to ------------------------------------------------------------------
@dataclass
class WindowResult:
    tokens: list[int]  # sampled tokens, timestamps included, without the final eot
    token_logprobs: list[float]
    query_rows: list[tuple[int, int]]  # (step, row) whose logits chose each token, then the eot
    sum_logprob: float
    no_speech_prob: float
    temperature: float
    text: str = ""
    words: list[WordTiming] = field(default_factory=list)  # times within the window

    @property
    def avg_logprob(self) -> float:
        return self.sum_logprob / (len(self.tokens) + 1)

    @property
    def compression_ratio(self) -> float:
        data = self.text.encode("utf-8")
        return len(data) / len(zlib.compress(data)) if data else 0.0


def lineage(hist: dict[str, np.ndarray], step: int, row: int):
    """Tokens of ``row`` as it entered ``step``: tokens, their log probabilities, and the
    (step, row) whose logits chose each."""
    tokens, logprobs, queries = [], [], []
    for t in range(step - 1, -1, -1):
        parent = int(hist["par"][t, row])
        tokens.append(int(hist["tok"][t, row]))
        logprobs.append(float(hist["lp"][t, row]))
        queries.append((t, parent))
        row = parent
    return tokens[::-1], logprobs[::-1], queries[::-1]


class BatchedDecoder:
    """Decodes batches of 30 s windows (encoder output) with one model, one batch at a time."""

    def __init__(self, model: Whisper, tokenizer: Tokenizer, options: BatchOptions) -> None:
        self.model, self.options = model, options
        self.device = model.decoder.token_embedding.weight.device
        self.dtype = model.decoder.token_embedding.weight.dtype
        self.rules = LogitRules(tokenizer, model.dims.n_vocab, self.device)
        self.weights = DecoderWeights.of(model)
        self.graphs = options.cuda_graphs and self.device.type == "cuda"
        self.steps = options.sample_len + options.check_every  # a few steps past the end
        self.sessions: dict[tuple[int, int], DecodeSession] = {}

    def session(self, windows: int, rows: int) -> DecodeSession:
        bucket = 1 << max(0, windows - 1).bit_length()  # 1, 2, 4, 8...: few graphs to capture
        if (bucket, rows) not in self.sessions:
            self.sessions[bucket, rows] = DecodeSession(
                self.model, self.weights, self.rules, bucket, rows, self.steps
            )
        return self.sessions[bucket, rows]

    @torch.no_grad()
    def decode(
        self,
        features: Tensor,
        frames: list[int],
        tokenizer: Tokenizer,
        temperature: float,
        rows: int,
        sample_len: int,
    ) -> list[WindowResult]:
        """Decode every window of ``features`` at one temperature (0: beam search with ``rows``
        beams, else ``rows`` samples), with word timings from the alignment heads; ``frames`` is
        each window's length in mel frames."""
        n = features.shape[0]
        s = self.session(n, rows)
        no_speech = self._start(s, features, tokenizer, min(sample_len, self.options.sample_len))
        if temperature == 0:
            self._run_beam(s)
        else:
            generator = torch.Generator(self.device).manual_seed(self.options.seed)
            self._run_eager(s, lambda: sample_step(s, temperature, generator))
        results = self._results(s, n, temperature, no_speech, tokenizer)
        for result, n_frames in zip(results, frames, strict=True):
            result.words = align_words(result, s.qk_hist, n_frames, tokenizer)
        return results

    def _start(self, s: DecodeSession, features: Tensor, tokenizer: Tokenizer, limit: int):
        """Fill the buffers for a new batch and run the prompt; returns no-speech probabilities."""
        n = features.shape[0]
        audio = torch.zeros(s.W, *features.shape[1:], device=self.device, dtype=self.dtype)
        audio[:n] = features
        for layer, block in enumerate(self.model.decoder.blocks):
            s.cross_k[layer].copy_(
                block.cross_attn.key(audio).view(s.W, -1, s.H, s.D).transpose(1, 2)
            )
            s.cross_v[layer].copy_(
                block.cross_attn.value(audio).view(s.W, -1, s.H, s.D).transpose(1, 2)
            )
        filled = 0
        for layer, heads in s.align_heads.items():
            keys = s.cross_k[layer].index_select(1, heads).mT * s.D**-0.5
            s.align_kt[:, filled : filled + len(heads)] = keys
            filled += len(heads)
        for buffer in (s.sum_lp, s.step, s.pool_n, s.ended, s.done):
            buffer.zero_()
        for buffer in (s.last_tok, s.prev_tok, s.ts_last):
            buffer.fill_(-1)
        s.limit.fill_(limit)
        s.pool_n[n:] = s.K  # padding windows count as finished
        s.ended[n * s.K :] = True
        prompt = list(tokenizer.sot_sequence)
        no_speech = [0.0] * n
        for i, token in enumerate(prompt[:-1] or prompt):
            s.tokens_in.fill_(token)
            s.offset.fill_(i)
            s.length = i + 1
            s.forward()
            if i == 0 and tokenizer.no_speech is not None:
                probs = s.logits.view(s.W, s.K, -1)[:n, 0].softmax(dim=-1)
                no_speech = probs[:, tokenizer.no_speech].tolist()
        s.tokens_in.fill_(prompt[-1])
        s.offset.fill_(len(prompt) - 1)
        s.prompt_len = len(prompt)
        return no_speech

    def _run_beam(self, s: DecodeSession) -> None:
        if not self.graphs:
            self._run_eager(s, lambda: beam_step(s))
            return
        if not s.graphs:
            s.graphs = self._capture(s)
        steps = 0
        while not s.done.item():
            for _ in range(self.options.check_every):
                # the graph that reads (and reorders) just the cache positions in use
                s.graphs[(s.prompt_len + steps - 1) // LENGTH_STEP].replay()
                steps += 1

    def _attention(self):
        """The attention kernels BatchOptions.attention names, or torch's own choice."""
        from torch.nn.attention import SDPBackend, sdpa_kernel

        if not self.options.attention:
            return contextlib.nullcontext()
        names = {
            "flash": SDPBackend.FLASH_ATTENTION,
            "efficient": SDPBackend.EFFICIENT_ATTENTION,
            "cudnn": SDPBackend.CUDNN_ATTENTION,
            "math": SDPBackend.MATH,
        }
        return sdpa_kernel([names[name] for name in self.options.attention])

    def _run_eager(self, s: DecodeSession, select) -> None:
        """Steps without a graph read only the cache positions filled so far."""
        steps = 0
        while not s.done.item():
            for _ in range(self.options.check_every):
                s.length = min(s.prompt_len + steps, s.positions.numel())
                s.forward()
                select()
                steps += 1

    def _capture(self, s: DecodeSession) -> list[torch.cuda.CUDAGraph]:
        """Capture forward + beam step once per session and cache length (LENGTH_STEP more
        positions each): a step early in a window reads and reorders a short cache. The warm-up
        steps change state that is put back afterwards, so the batch already started decodes
        as if nothing happened."""
        saved = {
            name: value.clone()
            for name, value in vars(s).items()
            if isinstance(value, Tensor) and name not in ("cross_k", "cross_v")
        }

        def step() -> None:
            with self._attention():
                s.forward()
            beam_step(s)

        if self.options.compile:
            step = torch.compile(step, mode="max-autotune-no-cudagraphs")
        pool = torch.cuda.graph_pool_handle()
        graphs = []
        total = s.positions.numel()
        for length in range(LENGTH_STEP, total + LENGTH_STEP, LENGTH_STEP):
            s.length = min(length, total)
            stream = torch.cuda.Stream()
            stream.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(stream):
                for _ in range(2):
                    step()
            torch.cuda.current_stream().wait_stream(stream)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph, pool=pool):
                step()
            graphs.append(graph)
        for name, value in saved.items():
            getattr(s, name).copy_(value)
        return graphs

    def _results(
        self,
        s: DecodeSession,
        n: int,
        temperature: float,
        no_speech: list[float],
        tokenizer: Tokenizer,
    ) -> list[WindowResult]:
        limit = min(int(s.step.item()), int(s.limit.item()))
        hist = {
            name: getattr(s, f"{name}_hist")[:limit].cpu().numpy()
            for name in ("tok", "par", "lp", "sc")
        }
        # candidates per window: (score, length, end step, row, ended with eot)
        candidates: list[list[tuple[float, int, int, bool]]] = [[] for _ in range(n)]
        live_scores = hist["sc"][limit - 1] if limit else np.zeros(s.R)
        if temperature == 0:
            pool_n = s.pool_n.tolist()
            pool = zip(
                s.pool_score.tolist(), s.pool_step.tolist(), s.pool_row.tolist(), strict=True
            )
            for w, (scores, ends, rows) in enumerate(itertools.islice(pool, n)):
                candidates[w] = [(scores[j], ends[j], rows[j], True) for j in range(pool_n[w])]
                # a window whose pool never filled also ranks its live beams, as Whisper does
                live = sorted(range(w * s.K, (w + 1) * s.K), key=lambda r: -live_scores[r])
                for r in live[: s.K - len(candidates[w])]:
                    candidates[w].append((float(live_scores[r]), limit, r, False))
        else:
            is_eot = hist["tok"] == tokenizer.eot
            for r in range(n * s.K):
                if is_eot[:, r].any():  # the eot at step e was chosen by row r itself
                    e = int(is_eot[:, r].argmax())
                    candidates[r // s.K].append((float(hist["sc"][e, r]), e, r, True))
                else:
                    candidates[r // s.K].append((float(live_scores[r]), limit, r, False))
        results = []
        for w in range(n):
            # Whisper's likelihood ranker without length penalty: log probability per token
            score, end, row, ended = max(candidates[w], key=lambda c: c[0] / max(c[1], 1))
            tokens, logprobs, queries = lineage(hist, end, row)
            if ended:
                queries.append((end, row))
            result = WindowResult(tokens, logprobs, queries, score, no_speech[w], temperature)
            result.text = tokenizer.decode([t for t in tokens if t < tokenizer.eot]).strip()
            results.append(result)
        return results


# --- word times from the alignment heads -------------------------------------------------------
def align_words(
    result: WindowResult,
    qk_hist: Tensor,
    n_frames: int,
    tokenizer: Tokenizer,
    medfilt_width: int = 7,
) -> list[WordTiming]:
    """Whisper's find_alignment over the cross-attention recorded while decoding: the query that
    chose each text token (and the one after the last) against the window's audio frames."""
    text_at = [i for i, token in enumerate(result.tokens) if token < tokenizer.eot]
    if not text_at:
        return []
    queries = [result.query_rows[i] for i in text_at]
    after = text_at[-1] + 1
    queries.append(result.query_rows[after] if after < len(result.query_rows) else queries[-1])
    steps, rows = (torch.tensor(i, device=qk_hist.device) for i in zip(*queries, strict=True))
    weights = qk_hist[steps, rows].transpose(0, 1)[:, :, : max(n_frames // 2, 1)].float()
    weights = weights.softmax(dim=-1)
    std, mean = torch.std_mean(weights, dim=-2, keepdim=True, unbiased=False)
    weights = median_filter((weights - mean) / std, medfilt_width)
    text_indices, time_indices = dtw(-weights.mean(dim=0))

    text_tokens = [result.tokens[i] for i in text_at]
    probabilities = [math.exp(result.token_logprobs[i]) for i in text_at]
    words, word_tokens = tokenizer.split_to_word_tokens([*text_tokens, tokenizer.eot])
    if len(word_tokens) <= 1:
        return []
    boundaries = np.pad(np.cumsum([len(t) for t in word_tokens[:-1]]), (1, 0))
    jumps = np.pad(np.diff(text_indices), (1, 0), constant_values=1).astype(bool)
    jump_times = time_indices[jumps] / TOKENS_PER_SECOND
    return [
        WordTiming(word, tokens, float(start), float(end), float(np.mean(probabilities[i:j])))
        for word, tokens, start, end, i, j in zip(
            words,
            word_tokens,
            jump_times[boundaries[:-1]],
            jump_times[boundaries[1:]],
            boundaries[:-1],
            boundaries[1:],
            strict=False,
        )
    ]


def window_segments(result: WindowResult, tokenizer: Tokenizer, seconds: float) -> list[dict]:
    """Split a window's tokens into segments at timestamp pairs, as Whisper's transcribe does;
    times are within the window, and the last segment ends with the window if it stays open."""
    tokens = result.tokens
    is_ts = [t >= tokenizer.timestamp_begin for t in tokens]
    cuts = [i + 1 for i in range(len(tokens) - 1) if is_ts[i] and is_ts[i + 1]]
    if not cuts:
        stamps = [t - tokenizer.timestamp_begin for t, ts in zip(tokens, is_ts, strict=True) if ts]
        end = stamps[-1] * TIME_PRECISION if stamps and stamps[-1] > 0 else seconds
        return [{"start": 0.0, "end": min(end, seconds), "tokens": tokens}]
    if is_ts[-2:] == [False, True]:  # a single timestamp closes the last segment
        cuts.append(len(tokens))
    elif cuts[-1] < len(tokens) and any(not ts for ts in is_ts[cuts[-1] :]):
        cuts.append(len(tokens))  # text after the last pair: a segment ending with the window
    segments, begin = [], 0
    for cut in cuts:
        part = tokens[begin:cut]
        start = (part[0] - tokenizer.timestamp_begin) * TIME_PRECISION if is_ts[begin] else 0.0
        last = part[-1]
        is_end = last >= tokenizer.timestamp_begin
        end = (last - tokenizer.timestamp_begin) * TIME_PRECISION if is_end else seconds
        segments.append({"start": min(start, seconds), "end": min(end, seconds), "tokens": part})
        begin = cut
    return segments


def place_words(
    segments: list[dict],
    alignment: list[WordTiming],
    offset: float,
    last_speech: float,
    tokenizer: Tokenizer,
) -> float:
    """openai-whisper's add_word_timestamps after the alignment: long words at sentence and
    segment boundaries shortened, punctuation merged, words handed to their segments (times
    shifted by ``offset``). Returns the end of the last speech."""
    durations = np.array([t.end - t.start for t in alignment])
    durations = durations[durations.nonzero()]
    median = min(0.7, float(np.median(durations))) if len(durations) else 0.0
    longest = median * 2
    if len(durations):
        for i in range(1, len(alignment)):
            if alignment[i].end - alignment[i].start > longest:
                if alignment[i].word in ".。!！?？":
                    alignment[i].end = alignment[i].start + longest
                elif alignment[i - 1].word in ".。!！?？":
                    alignment[i].start = alignment[i].end - longest
    merge_punctuations(alignment, PREPEND_PUNCTUATION, APPEND_PUNCTUATION)
    index = 0
    for segment in segments:
        segment["start"] += offset
        segment["end"] += offset
        n_text = sum(1 for t in segment["tokens"] if t < tokenizer.eot)
        saved, words = 0, []
        while index < len(alignment) and saved < n_text:
            timing = alignment[index]
            if timing.word:
                words.append(
                    {
                        "word": timing.word,
                        "start": round(offset + timing.start, 2),
                        "end": round(offset + timing.end, 2),
                        "probability": timing.probability,
                    }
                )
            saved += len(timing.tokens)
            index += 1
        if words:
            first, last = words[0], words[-1]
            if first["end"] - last_speech > median * 4 and (
                first["end"] - first["start"] > longest
                or (len(words) > 1 and words[1]["end"] - first["start"] > longest * 2)
            ):
                if len(words) > 1 and words[1]["end"] - words[1]["start"] > longest:
                    boundary = max(words[1]["end"] / 2, words[1]["end"] - longest)
                    first["end"] = words[1]["start"] = boundary
                first["start"] = max(0, first["end"] - longest)
            if segment["start"] < first["end"] and segment["start"] - 0.5 > first["start"]:
                first["start"] = max(0, min(first["end"] - median, segment["start"]))
            else:
                segment["start"] = first["start"]
            if segment["end"] > last["start"] and segment["end"] + 0.5 < last["end"]:
                last["end"] = max(last["start"] + median, segment["end"])
            else:
                segment["end"] = last["end"]
            last_speech = segment["end"]
        segment["words"] = words
    return last_speech


# --- the engine --------------------------------------------------------------------------------
class BatchedTorchEngine:
    """Implements ``SpeechEngine``: Whisper on torch, all windows of a recording in one batch;
    fp16 with CUDA graphs on an NVIDIA GPU, fp32 eager on the CPU (the same decoding)."""

    name = "torch-batched"

    def __init__(
        self,
        model: str = "base",
        *,
        cache_dir: Path,
        device: str = "auto",
        options: DecodingOptions | None = None,
        batch: BatchOptions | None = None,
    ) -> None:
        from .openai_whisper_engine import load_whisper_model

        self.model = model.strip() or "base"
        self.options = options or DecodingOptions()
        self.batch = batch or BatchOptions()
        self.device = choose_device(device, cuda_available("torch"))
        self.compute_type = "float16" if self.device == "cuda" else "float32"
        self.whisper = prepare_model(load_whisper_model(self.model, Path(cache_dir)), self.device)
        self.dtype = self.whisper.decoder.token_embedding.weight.dtype
        self.decoder = BatchedDecoder(self.whisper, self._tokenizer("en"), self.batch)
        if self.device == "cuda":
            use_vad_threads(min(self.batch.vad_threads, os.cpu_count() or 1))
            # the encoder's convolutions always see [windows, n_mels, 3000]: let cuDNN time its
            # algorithms once per batch size (during warm_up) instead of guessing
            torch.backends.cudnn.benchmark = True
        self._lock = threading.Lock()  # one batch at a time: the decoder's buffers are shared
        self._vad_pool = ThreadPoolExecutor(1, thread_name_prefix="vad")
        self.last_run: dict = {}  # windows, stage times and temperatures of the last recording
        self.warm_up()

    @classmethod
    def from_settings(cls, settings: Settings) -> BatchedTorchEngine:
        return cls(
            settings.whisper_model,
            cache_dir=settings.cache_dir,
            device=settings.asr_device,
            options=DecodingOptions(beam_size=settings.asr_beam_size),
        )

    @property
    def beam_size(self) -> int:
        return self.options.beam_size

    def warm_up(self) -> None:
        """Pay once at load what a first recording would: the VAD model, CUDA kernels, a graph
        for every batch size (1, 2, 4, ... windows), Triton's DTW and median filter."""
        noise = np.random.default_rng(0).normal(0, 0.1, N_SAMPLES).astype(np.float32)
        plan_windows(noise)
        dtw(torch.rand(4, 8, device=self.device))
        median_filter(torch.rand(1, 4, 20, device=self.device), 7)
        tokenizer = self._tokenizer("en")
        windows = 1
        with self._lock, torch.no_grad():
            while True:
                features = self._encode(noise, [Window(0, len(noise))] * windows)
                frames = [N_FRAMES] * windows
                self.decoder.decode(features, frames, tokenizer, 0.0, self.beam_size, 4)
                if not self.decoder.graphs or windows >= self.batch.max_windows:
                    break
                windows *= 2

    def _tokenizer(self, language: str | None, task: str = "transcribe") -> Tokenizer:
        return get_tokenizer(
            self.whisper.is_multilingual,
            num_languages=self.whisper.num_languages,
            language=language,
            task=task,
        )

    def _encode(self, audio: np.ndarray, windows: list[Window]) -> Tensor:
        mel = log_mel_batch(audio, windows, self.whisper.dims.n_mels, self.device)
        parts = mel.split(self.batch.max_windows)
        return torch.cat([self.whisper.encoder(part.to(self.dtype)) for part in parts])

    def _decode(
        self,
        features: Tensor,
        frames: list[int],
        tokenizer: Tokenizer,
        temperature: float,
        sample_len: int,
    ) -> list[WindowResult]:
        """Every window at one temperature, ``max_windows`` at a time."""
        rows = self.options.beam_size if temperature == 0 else self.options.best_of
        results = []
        for start in range(0, len(frames), self.batch.max_windows):
            stop = start + self.batch.max_windows
            results += self.decoder.decode(
                features[start:stop], frames[start:stop], tokenizer, temperature, rows, sample_len
            )
        return results

    def detect_language(self, features: Tensor, language: str | None) -> tuple[str, float]:
        """The language code and its probability, from the first window's encoder output."""
        if not self.whisper.is_multilingual:
            return "en", 1.0
        if code := normalize_language(language):
            return code, 1.0
        _, probs = whisper_detect_language(self.whisper, features[:1], self._tokenizer(None))
        code = max(probs[0], key=probs[0].get)
        return code, float(probs[0][code])

    def decode_with_fallback(
        self, features: Tensor, frames: list[int], tokenizer: Tokenizer
    ) -> list[WindowResult]:
        """Beam search first; windows that repeat themselves or are unlikely are sampled again
        at rising temperatures, as Whisper's transcribe does, all of them in one batch."""
        results: list[WindowResult] = []
        pending = list(range(len(frames)))
        for temperature in self.options.temperatures:
            index = torch.tensor(pending, device=features.device)
            decoded = self._decode(
                features.index_select(0, index),
                [frames[i] for i in pending],
                tokenizer,
                temperature,
                self.batch.sample_len,
            )
            if not results:
                results = decoded
            for i, result in zip(pending, decoded, strict=True):
                results[i] = result
            pending = [i for i, r in zip(pending, decoded, strict=True) if self.needs_fallback(r)]
            if not pending:
                break
        return results

    def needs_fallback(self, result: WindowResult) -> bool:
        """Whisper's rule: too repetitive or too unlikely, unless the window is silence."""
        o = self.options
        if self.is_silent(result):
            return False
        return (
            result.compression_ratio > o.compression_ratio_threshold
            or result.avg_logprob < o.log_prob_threshold
        )

    def is_silent(self, result: WindowResult) -> bool:
        o = self.options
        return result.no_speech_prob > o.no_speech_threshold and (
            result.avg_logprob < o.log_prob_threshold
        )

    def transcribe(
        self,
        audio: np.ndarray,
        language: str | None = None,
        task: str = "transcribe",
        prompt: str = "",
    ) -> tuple[Iterator[Segment], TranscriptionInfo]:
        """Segments with word timestamps; every window is decoded before the first one comes.
        ``prompt`` is not used: the windows of one batch are decoded side by side, none after
        another's text (a live sentence is heard without the story before it)."""
        audio = np.asarray(audio, dtype=np.float32)
        clock = Stopwatch()
        code, probability = normalize_language(language) or "en", 0.0
        windows: list[Window] = []
        results: list[WindowResult] = []
        with self._lock, torch.no_grad():
            gap = self.options.hallucination_silence_threshold
            whole = [Window(0, len(audio))]
            short = len(audio) <= self.batch.window_seconds * SAMPLE_RATE
            planned = self._vad_pool.submit(plan_windows, audio, gap, self.batch.window_seconds)
            if short and self.device == "cuda":
                # the GPU decodes the whole recording while the CPU runs the VAD; kept when the
                # VAD hears one stretch of speech (which the plan below would decode whole too)
                (code, probability), results = self._decode_windows(audio, whole, language, task)
            windows = planned.result()
            clock.lap("vad (on a GPU: with the whole recording's decoding)")
            if short and windows and is_one_stretch(windows, len(audio)):
                windows = whole
            if windows and not (results and windows == whole):
                (code, probability), results = self._decode_windows(audio, windows, language, task)
            clock.lap("decode, word alignment")
            segments = self._segments(windows, results, code, task) if windows else []
            clock.lap("segments")
            self.last_run = {
                "windows": len(windows),
                "stages": clock.laps,
                "temperatures": [r.temperature for r in results] if windows else [],
            }
        info = TranscriptionInfo(
            language=code,
            language_probability=probability,
            duration=len(audio) / SAMPLE_RATE,
            engine=self.name,
            model=self.model,
            device=self.device,
            compute_type=self.compute_type,
        )
        return iter(segments), info

    def _decode_windows(
        self, audio: np.ndarray, windows: list[Window], language: str | None, task: str
    ) -> tuple[tuple[str, float], list[WindowResult]]:
        """(language, probability) and each window decoded, fallback temperatures included."""
        features = self._encode(audio, windows)
        detected = self.detect_language(features, language)
        frames = [(w.end - w.start) // HOP_LENGTH for w in windows]
        tokenizer = self._tokenizer(detected[0], task)
        return detected, self.decode_with_fallback(features, frames, tokenizer)

    def _segments(
        self, windows: list[Window], results: list[WindowResult], language: str, task: str
    ) -> list[Segment]:
        tokenizer = self._tokenizer(language, task)
        segments: list[Segment] = []
        last_speech = 0.0
        for window, result in zip(windows, results, strict=True):
            if self.is_silent(result):
                continue
            parts = window_segments(result, tokenizer, window.seconds)
            offset = window.start / SAMPLE_RATE
            last_speech = place_words(parts, result.words, offset, last_speech, tokenizer)
            for part in parts:
                text = tokenizer.decode([t for t in part["tokens"] if t < tokenizer.eot])
                if not text.strip():
                    continue
                words = tuple(
                    Word(w["start"], w["end"], w["word"], w["probability"]) for w in part["words"]
                )
                segments.append(
                    Segment(
                        id=len(segments),
                        start=round(part["start"], 3),
                        end=round(part["end"], 3),
                        text=text,
                        words=words,
                        avg_logprob=result.avg_logprob,
                        no_speech_prob=result.no_speech_prob,
                    )
                )
        return segments

    def translate(self, audio: np.ndarray, language: str) -> list[Segment]:
        """English segments timed from the start of ``audio``: one beam search per 30 s window,
        no fallback, a token budget for each window's length."""
        audio = np.asarray(audio, dtype=np.float32)
        windows = [
            Window(start, min(start + N_SAMPLES, len(audio)))
            for start in range(0, len(audio), N_SAMPLES)
        ]
        if not windows:
            return []
        with self._lock, torch.no_grad():
            features = self._encode(audio, windows)
            code, _ = self.detect_language(features, language)
            task = "translate" if self.whisper.is_multilingual else "transcribe"
            seconds = min(len(audio) / SAMPLE_RATE, N_SAMPLES / SAMPLE_RATE)
            rate = self.options.for_translation().max_tokens_per_second
            budget = token_budget(seconds, rate)
            frames = [(w.end - w.start) // HOP_LENGTH for w in windows]
            tokenizer = self._tokenizer(code, task)
            results = self._decode(features, frames, tokenizer, 0.0, budget)
        segments: list[Segment] = []
        for window, result in zip(windows, results, strict=True):
            offset = window.start / SAMPLE_RATE
            for part in window_segments(result, tokenizer, window.seconds):
                text = tokenizer.decode([t for t in part["tokens"] if t < tokenizer.eot])
                if text.strip():
                    start, end = offset + part["start"], offset + part["end"]
                    segments.append(Segment(len(segments), round(start, 3), round(end, 3), text))
        return segments


def is_one_stretch(windows: list[Window], samples: int, margin: float = 0.5) -> bool:
    """One window from (nearly) the start to (nearly) the end of the recording."""
    edge = int(margin * SAMPLE_RATE)
    return len(windows) == 1 and windows[0].start <= edge and windows[0].end >= samples - edge


class Stopwatch:
    """Seconds spent in each stage of the last transcription, for bench/gpu.py."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.laps[stage] = now - self._last
        self._last = now
