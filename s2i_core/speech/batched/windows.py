"""The batched engine's windows: a recording cut at VAD pauses into windows of at most 24 s,
each window's log-Mel spectrogram padded to 30 s, the model made fp16 once, and what a window
decoded to."""

from __future__ import annotations

import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn
from whisper.audio import HOP_LENGTH, N_FFT, N_SAMPLES, SAMPLE_RATE, mel_filters
from whisper.model import Whisper
from whisper.timing import WordTiming

from ..base import DecodingOptions

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
