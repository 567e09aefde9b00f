"""A local diffusers model drawing from a reference picture (the character's picture).

A pipeline whose call takes an ``image`` (FLUX.1 Kontext through ``FluxKontextPipeline``, saved
with ``save_pretrained`` or named by its Hugging Face id) is given the reference as it is. Any
other text-to-image pipeline (SD 1.5, SDXL) draws from it as image-to-image, through the pipeline
``AutoPipelineForImage2Image.from_pipe`` derives from it: same weights, no second copy in GPU
memory, fp16 on CUDA like the text pipeline. Image-to-image keeps the hero's colours and shape
where the picture starts, and redraws ``REFERENCE_STRENGTH`` of it from the frame's words.
"""

from __future__ import annotations

import inspect
from typing import Any

from .models import ImageModel
from .reference import ReferencePicture, fitted
from .reference_models import ReferenceModel

REFERENCE_STRENGTH = 0.75  # image-to-image: how much of the reference picture is redrawn
HOW = {
    True: "Draws from the character's picture as image-to-image (the same model's weights).",
    False: "Draws from the character's picture (the model takes an input image).",
}


def takes_image(pipeline: Any) -> bool:
    """Whether the pipeline's own call takes an input ``image`` (Kontext does; SD does not)."""
    return "image" in inspect.signature(pipeline.__call__).parameters


LOCAL_NOTE = (
    "Draws from the character's picture: as an input image where the model's pipeline takes one "
    "(FLUX.1 Kontext), else as image-to-image with the same weights."
)


def local_references(catalogue: dict[str, ImageModel]) -> dict[str, ReferenceModel]:
    """Before loading: every local model draws from a picture one way or the other."""
    return {m.id: ReferenceModel(m, max_references=1, note=LOCAL_NOTE) for m in catalogue.values()}


def local_reference_models(model, pipeline: Any) -> dict[str, ReferenceModel]:
    """The loaded model, offered to draw from a picture too (one picture per request)."""
    return {model.id: ReferenceModel(model, max_references=1, note=HOW[not takes_image(pipeline)])}


class ReferencePipelines:
    """The pipeline a reference picture is drawn with, derived once from the text pipeline."""

    def __init__(self, pipeline: Any):
        self._text = pipeline
        self._derived: Any = None
        self.image_to_image = not takes_image(pipeline)

    def pipeline(self) -> Any:
        if not self.image_to_image:
            return self._text
        if self._derived is None:
            from diffusers import AutoPipelineForImage2Image

            self._derived = AutoPipelineForImage2Image.from_pipe(self._text)
            self._derived.set_progress_bar_config(disable=True)
        return self._derived

    def options(self, references: list[ReferencePicture], size: tuple[int, int]) -> dict[str, Any]:
        """The call's arguments for these references at ``size`` (width, height)."""
        images = [fitted(reference, size) for reference in references]
        if self.image_to_image:  # its size is the image's
            return {"image": images, "strength": REFERENCE_STRENGTH}
        return {"image": images, "width": size[0], "height": size[1]}
