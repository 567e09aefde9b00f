"""One decoder step for every row of a batch at once: the decoder's weights ready for it, Whisper's
logit rules in tensors, the static buffers a captured CUDA graph replays over, and the beam search
and sampling steps that choose each row's next token."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from whisper.model import Whisper
from whisper.tokenizer import Tokenizer

from .windows import MAX_INITIAL_TIMESTAMP, TIME_PRECISION


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
