"""Drawing a frame with its characters: a frame whose scene names a character with a chosen
picture on the story's character sheet is drawn from that picture by the backend's reference
model; the other frames, and every frame of a story whose sheet is switched off, by the story's
own model. Several characters in one frame go as one composed sheet when the model takes one
picture (FLUX.1 Kontext's schema, and the local pipelines): no model on offer takes several
reference pictures in one request yet.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ..errors import ContentFilteredError, StorageError
from ..pictures import GeneratedImage, ImageParams, PictureBackend, fit_params
from ..pictures.reference import ReferencePicture, compose_sheet, reference_from_png
from ..pictures.reference_models import ReferenceModel
from ..storage import FrameRecord, Library
from ..story.bible import StoryBible


@dataclass(frozen=True)
class Cast:
    """What one drawing needs to draw frames with their characters."""

    bible: StoryBible
    references: dict[str, ReferencePicture] = field(default_factory=dict)  # chosen, by name
    model: ReferenceModel | None = None  # None: every frame is drawn from words alone
    notes: tuple[str, ...] = ()  # for the teacher: why characters are not drawn from pictures

    def reference_for(self, frame: FrameRecord) -> ReferencePicture | None:
        """The picture this frame is drawn from: its named characters' (one sheet for several
        where the model takes one picture); None when it names none with a picture."""
        if self.model is None or not self.references:
            return None
        scene = " ".join(part for part in (frame.scene, frame.text_en, frame.text) if part)
        named = self.bible.looks_named_in(scene)
        named = [self.references[c.name] for c in named if c.name in self.references]
        if not named:
            return None
        return named[0] if len(named) == 1 else compose_sheet(named)


def load_cast(library: Library, story_id: int, backend: PictureBackend | None) -> Cast:
    """The story's bible, chosen character pictures and the backend's reference model."""
    story = library.get_story(story_id)
    bible = StoryBible.from_json(story.bible)
    try:
        sheet = library.character_sheet(story_id)
    except StorageError:
        return Cast(bible)
    if not sheet.enabled or not sheet.characters or backend is None:
        return Cast(bible)
    references = {}
    for character in bible.characters:
        picture = sheet.chosen(character.name)
        if picture is not None:
            references[character.name] = reference_from_png(
                character.name, library.path(picture.image_path).read_bytes()
            )
    offered = list(getattr(backend, "reference_models", {}).values())
    ready = [entry for entry in offered if entry.ready]
    if not ready:
        why = offered[0].note if offered else f"{backend.label} cannot draw from a picture"
        return Cast(bible, references, None, (why,) if references else ())
    return Cast(bible, references, ready[0])


def draw_frame(
    backend: PictureBackend, frame: FrameRecord, params: ImageParams, cast: Cast
) -> tuple[GeneratedImage, str]:
    """One frame's picture and the model that drew it (raises an ImageAPIError subclass)."""
    reference = cast.reference_for(frame)
    if reference is None:
        return backend.generate(frame.prompt, params), params.model
    model = cast.model.model
    fitted, _ = fit_params(replace(params, steps=None, cfg_scale=None, sampler=None), model)
    try:
        return backend.generate(frame.prompt, fitted, reference=reference), model.id
    except ContentFilteredError as error:
        raise ContentFilteredError(
            f"{error} It was drawn from {reference.character}'s picture on the character sheet: "
            "if every frame with them is blocked, the picture may be what the filter rejects. "
            "Choose or upload another one."
        ) from None
