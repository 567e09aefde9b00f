"""A tiny, randomly initialised Stable Diffusion pipeline, saved like a real one.

Real weights cannot be downloaded here, so tests and the GPU benchmark build this instead: the
same classes as SD 1.5 (UNet, VAE, CLIP text encoder and tokenizer, DDIM scheduler) with very
small configs, written with ``save_pretrained`` so the app loads it through its real code path.
Its pictures are noise, but of the right size, from the right seed, through the same steps.
"""

from __future__ import annotations

import json
from pathlib import Path

# Byte-level BPE as in CLIP: every byte is a token on its own and as a word's last piece.
_SPECIAL = ("<|startoftext|>", "<|endoftext|>")


def _byte_chars() -> list[str]:
    """CLIP's (GPT-2's) printable stand-ins for the 256 byte values."""
    visible = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1)]
    visible += range(ord("®"), ord("ÿ") + 1)
    chars, extra = [], 0
    for byte in range(256):
        if byte in visible:
            chars.append(chr(byte))
        else:
            chars.append(chr(256 + extra))
            extra += 1
    return chars


def write_tokenizer(folder: Path) -> int:
    """A CLIP tokenizer whose vocabulary is single bytes (no merges); returns its size."""
    folder.mkdir(parents=True, exist_ok=True)
    chars = _byte_chars()
    tokens = [*chars, *(f"{c}</w>" for c in chars), *_SPECIAL]
    (folder / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(tokens)}))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    config = {
        "tokenizer_class": "CLIPTokenizer",
        "model_max_length": 77,
        "bos_token": _SPECIAL[0],
        "eos_token": _SPECIAL[1],
        "unk_token": _SPECIAL[1],
        "pad_token": _SPECIAL[1],
    }
    (folder / "tokenizer_config.json").write_text(json.dumps(config))
    (folder / "special_tokens_map.json").write_text(
        json.dumps({k: config[k] for k in ("bos_token", "eos_token", "unk_token", "pad_token")})
    )
    return len(tokens)


def build_tiny_pipeline(folder: Path, side: int = 64, seed: int = 0) -> Path:
    """Save a tiny SD pipeline drawing ``side``-pixel pictures (a multiple of 8) in ``folder``."""
    import torch
    from diffusers import (
        AutoencoderKL,
        DDIMScheduler,
        StableDiffusionPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    torch.manual_seed(seed)
    vocab = write_tokenizer(folder / "tokenizer")
    tokenizer = CLIPTokenizer.from_pretrained(folder / "tokenizer")
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            vocab_size=vocab,
            hidden_size=32,
            intermediate_size=37,
            num_hidden_layers=2,
            num_attention_heads=4,
            max_position_embeddings=77,
            bos_token_id=vocab - 2,
            eos_token_id=vocab - 1,
            pad_token_id=vocab - 1,
        )
    )
    # VAE with four blocks downsamples by 8, as SD's does: latents are side/8 pixels a side
    vae = AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=["DownEncoderBlock2D"] * 4,
        up_block_types=["UpDecoderBlock2D"] * 4,
        block_out_channels=[8, 8, 16, 16],
        layers_per_block=1,
        latent_channels=4,
        norm_num_groups=4,
        sample_size=side,
    )
    unet = UNet2DConditionModel(
        sample_size=side // 8,
        in_channels=4,
        out_channels=4,
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        block_out_channels=(32, 64),
        layers_per_block=1,
        cross_attention_dim=32,
        attention_head_dim=8,
        norm_num_groups=8,
    )
    scheduler = DDIMScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        clip_sample=False,
        set_alpha_to_one=False,
        steps_offset=1,
    )
    pipeline = StableDiffusionPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipeline.save_pretrained(folder)
    return folder
