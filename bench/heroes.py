"""The same hero in every picture, measured: CLIP image similarity of a story's frames to its
hero's picture, drawn with the character sheet (from the picture) and without it (from words).

python -m bench.heroes OUT_DIR --model MODEL [--clip openai/clip-vit-base-patch32]
                       [--hero drawing.png] [--seeds 1,2,3] [--steps 28]

Runs on a GPU machine with real weights (no network needed once they are in the Hugging Face
cache or a folder): ``--model`` is what S2I_LOCAL_IMAGE_MODEL would name (FLUX.1 Kontext
[dev] draws from the picture as an input image; SD 1.5 / SDXL as image-to-image), loaded through
the app's own ``LocalBackend`` (fp16 on CUDA). For each seed, each frame of a six-sentence story
about the hero is drawn twice: with the hero's picture (as a story with a character sheet is)
and from words alone (the bible's look in the prompt, as without one). CLIP (``--clip``) embeds
every picture; the table gives, per condition, the mean cosine similarity of the frames to the
hero's picture and between the frames themselves (higher: the same character more often).
Writes heroes.json, heroes.md and heroes.png to OUT_DIR.

Not run in this repository's CI: it needs a GPU and real weights. The hero defaults to a
drawing made here (a child's style figure), so runs on different machines compare.
"""

from __future__ import annotations

import argparse
import io
import json
import platform
import sys
import time
from itertools import combinations
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from s2i_core.pictures import ImageParams  # noqa: E402
from s2i_core.pictures.local import LocalBackend  # noqa: E402
from s2i_core.pictures.reference import png_bytes, reference_from_png  # noqa: E402
from s2i_core.settings import Settings  # noqa: E402
from s2i_core.story.bible import Character, StoryBible  # noqa: E402
from s2i_core.story.prompts import build_prompt  # noqa: E402

HERO = Character("Pip", "a small round orange fox with a green scarf and one black ear")
STORY = [
    "Pip woke up under the big oak tree.",
    "Pip ran across the meadow to the river.",
    "Pip jumped from stone to stone over the water.",
    "Pip found a lost blue kite in the reeds.",
    "Pip flew the kite on the windy hill.",
    "At night Pip slept with the kite beside the tree.",
]


def default_hero() -> bytes:
    """A child's-style drawing of Pip on white: round orange body, green scarf, one black ear."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (512, 512), "white")
    draw = ImageDraw.Draw(image)
    draw.ellipse((136, 180, 376, 440), fill=(240, 130, 30), outline="black", width=6)
    draw.ellipse((176, 90, 336, 240), fill=(240, 130, 30), outline="black", width=6)
    draw.polygon([(186, 120), (206, 50), (236, 110)], fill="black")
    draw.polygon([(276, 110), (306, 50), (326, 120)], fill=(240, 130, 30), outline="black")
    draw.rectangle((176, 232, 336, 262), fill=(40, 160, 60), outline="black", width=4)
    draw.ellipse((220, 150, 236, 166), fill="black")
    draw.ellipse((276, 150, 292, 166), fill="black")
    return png_bytes(image)


def clip_embedder(name: str, device: str):
    import torch
    from transformers import CLIPModel, CLIPProcessor

    model = CLIPModel.from_pretrained(name).to(device).eval()
    processor = CLIPProcessor.from_pretrained(name)

    def embed(pngs: list[bytes]) -> torch.Tensor:
        from PIL import Image

        images = [Image.open(io.BytesIO(p)).convert("RGB") for p in pngs]
        with torch.inference_mode():
            inputs = processor(images=images, return_tensors="pt").to(device)
            features = model.get_image_features(**inputs)
            # transformers 5 answers with an output object whose pooler_output is the projection
            features = getattr(features, "pooler_output", features)
        return torch.nn.functional.normalize(features.float(), dim=-1).cpu()

    return embed


def similarity(embed, hero: bytes, frames: list[bytes]) -> dict:
    vectors = embed([hero, *frames])
    to_hero = (vectors[1:] @ vectors[0]).tolist()
    pairs = [float(vectors[1 + a] @ vectors[1 + b]) for a, b in combinations(range(len(frames)), 2)]
    return {
        "to_hero_mean": sum(to_hero) / len(to_hero),
        "between_frames_mean": sum(pairs) / len(pairs),
        "to_hero": to_hero,
    }


def run(out: Path, model: str, clip: str, hero_png: bytes, seeds: list[int], steps: int) -> dict:
    import torch

    backend = LocalBackend(Settings(local_image_model=model, image_concurrency=1))
    entry = backend.reference_models[backend.model.id]
    reference = reference_from_png(HERO.name, hero_png)
    bible = StoryBible((HERO,))
    embed = clip_embedder(clip, backend.device)
    rows = []
    for seed in seeds:
        for condition in ("sheet", "words"):
            started = time.perf_counter()
            frames = []
            for n, sentence in enumerate(STORY):
                prompt = build_prompt(sentence, "storybook", bible, backend.model.id)
                params = ImageParams(backend.model.id, steps=steps, seed=seed * 100 + n)
                drawn_from = reference if condition == "sheet" else None
                frames.append(backend.generate(prompt, params, reference=drawn_from).data)
            seconds = time.perf_counter() - started
            for n, data in enumerate(frames):
                (out / f"{condition}-seed{seed}-{n}.png").write_bytes(data)
            rows.append({"seed": seed, "condition": condition, "seconds": seconds}
                        | similarity(embed, hero_png, frames))  # fmt: skip
            print(json.dumps(rows[-1] | {"to_hero": None}), flush=True)
    result = {
        "model": model,
        "how": entry.note,
        "clip": clip,
        "steps": steps,
        "device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu",
        "python": platform.python_version(),
        "rows": rows,
    }
    write_report(out, result)
    return result


def write_report(out: Path, result: dict) -> None:
    (out / "heroes.json").write_text(json.dumps(result, indent=2))
    lines = [
        f"# The same hero in every picture: {result['model']} on {result['device']}",
        "",
        f"{result['how']} CLIP: {result['clip']}, {result['steps']} steps.",
        "",
        "| condition | seed | frames to hero (mean cos) | between frames (mean cos) | s |",
        "|---|---|---|---|---|",
    ]
    for row in result["rows"]:
        lines.append(
            f"| {row['condition']} | {row['seed']} | {row['to_hero_mean']:.3f} | "
            f"{row['between_frames_mean']:.3f} | {row['seconds']:.1f} |"
        )
    (out / "heroes.md").write_text("\n".join(lines) + "\n")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for condition, colour in (("sheet", "tab:orange"), ("words", "tab:gray")):
        values = [v for r in result["rows"] if r["condition"] == condition for v in r["to_hero"]]
        ax.hist(values, bins=12, alpha=0.6, color=colour, label=condition)
    ax.set_xlabel("CLIP similarity of a frame to the hero's picture")
    ax.set_ylabel("frames")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "heroes.png", dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--model", required=True, help="a diffusers model id or folder")
    parser.add_argument("--clip", default="openai/clip-vit-base-patch32")
    parser.add_argument("--hero", type=Path, help="the hero's picture (default: one drawn here)")
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--steps", type=int, default=28)
    parser.add_argument("--allow-cpu", action="store_true", help="for a smoke run on a CPU")
    args = parser.parse_args()
    import torch

    if not torch.cuda.is_available() and not args.allow_cpu:
        sys.exit("No CUDA GPU here: run this on a GPU machine (or --allow-cpu for a smoke run).")
    args.out.mkdir(parents=True, exist_ok=True)
    hero = args.hero.read_bytes() if args.hero else default_hero()
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    run(args.out, args.model, args.clip, hero, seeds, args.steps)


if __name__ == "__main__":
    main()
