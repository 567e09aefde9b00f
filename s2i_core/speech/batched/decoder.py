"""Batches of windows decoded to tokens: the session of static buffers for each batch size, the
CUDA graphs captured over one step (one per 32 cache positions), and each window's best
hypothesis read back from the step histories."""

from __future__ import annotations

import contextlib
import itertools

import numpy as np
import torch
from torch import Tensor
from whisper.model import Whisper
from whisper.tokenizer import Tokenizer

from .steps import (
    LENGTH_STEP,
    DecoderWeights,
    DecodeSession,
    LogitRules,
    beam_step,
    sample_step,
)
from .windows import BatchOptions, WindowResult
from .words import align_words


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
