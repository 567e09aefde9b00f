"""Which device an engine runs on: probes for CUDA that never crash, and the names people read."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import SpeechModelError


def cuda_available(backend: str = "ctranslate2") -> bool:
    """Whether ``backend`` ("ctranslate2" or "torch") can run on an NVIDIA GPU here."""
    try:
        if backend == "torch":
            import torch

            return bool(torch.cuda.is_available())
        import ctranslate2

        return ctranslate2.get_cuda_device_count() > 0 and _cublas_for_ctranslate2()
    except Exception:  # a broken CUDA install means "no GPU", not a crash
        return False


def choose_device(requested: str, has_cuda: bool) -> str:
    requested = (requested or "auto").strip().lower()
    if requested == "auto":
        return "cuda" if has_cuda else "cpu"
    if requested == "cuda" and not has_cuda:
        raise SpeechModelError(
            "S2I_ASR_DEVICE is set to cuda, but no usable NVIDIA GPU was found. "
            "Set S2I_ASR_DEVICE to auto or cpu."
        )
    if requested not in ("cpu", "cuda"):
        raise SpeechModelError(
            f"S2I_ASR_DEVICE must be auto, cpu or cuda, not {requested!r}. Fix the setting."
        )
    return requested


@dataclass(frozen=True)
class DeviceProbe:
    """What this machine can run: CTranslate2 on CUDA (needs CUDA 12's cuBLAS), torch on CUDA."""

    ctranslate2_cuda: bool
    torch_cuda: bool


def probe_devices() -> DeviceProbe:
    return DeviceProbe(
        ctranslate2_cuda=cuda_available("ctranslate2"),
        torch_cuda=cuda_available("torch"),
    )


def _cublas_for_ctranslate2() -> bool:
    """CTranslate2 4.x is built against CUDA 12: without its cuBLAS a CUDA model loads, then fails
    on the first matrix product, so look for the library before choosing CTranslate2."""
    import ctypes
    import glob
    import site

    candidates = ["libcublas.so.12"] + [
        path
        for root in site.getsitepackages()
        for path in glob.glob(f"{root}/nvidia/cublas/lib/libcublas.so.12")
    ]
    for candidate in candidates:
        try:
            ctypes.CDLL(candidate)
            return True
        except OSError:
            continue
    return False


def device_label(device: str) -> str:
    """ "CPU", or the GPU's name for people reading a status page."""
    if device != "cuda":
        return "CPU"
    try:
        import torch

        return f"GPU ({torch.cuda.get_device_name(0)})"
    except Exception:
        return "GPU"
