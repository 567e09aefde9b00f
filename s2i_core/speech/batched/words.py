"""Word times from the alignment heads' cross-attention recorded while decoding, then Whisper's own
DTW and rules (timing.py's find_alignment and add_word_timestamps)."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor
from whisper.audio import TOKENS_PER_SECOND
from whisper.timing import WordTiming, dtw, median_filter, merge_punctuations
from whisper.tokenizer import Tokenizer

from .windows import APPEND_PUNCTUATION, PREPEND_PUNCTUATION, TIME_PRECISION, WindowResult


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
    median, longest = _shorten_long_words(alignment)
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
            last_speech = _fit_segment(segment, words, last_speech, median, longest)
        segment["words"] = words
    return last_speech


def _shorten_long_words(alignment: list[WordTiming]) -> tuple[float, float]:
    """A word longer than twice the median (at most 1.4 s) next to a sentence end is cut to
    that; returns (median word length, longest allowed)."""
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
    return median, longest


def _fit_segment(
    segment: dict, words: list[dict], last_speech: float, median: float, longest: float
) -> float:
    """A first word that starts long after the last speech is shortened; the segment and its
    first and last words are made to agree. Returns the segment's end (the last speech)."""
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
    return segment["end"]
