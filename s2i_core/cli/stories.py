"""``transcribe``, ``story`` and ``regenerate``: a recording made into a storyboard, or an
interrupted one finished, through the same jobs the workers run (here in this process, their
progress on a bar), or queued for the workers with ``--enqueue``."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..errors import StoryBusyError
from ..settings import Settings
from .output import (
    open_library,
    print_json,
    progress_bar,
    report_story,
    sentence_json,
    spinner,
)
from .parser import UsageError


def cmd_transcribe(args: argparse.Namespace, settings: Settings) -> int:
    from ..story.narration import transcribe_narration

    require_file(args.audio)
    with spinner("Transcribing"):
        narration = transcribe_narration(args.audio, settings, language=args.language)
    info = narration.transcription.info
    if args.json:
        print_json(
            {
                "language": info.language,
                "language_probability": round(info.language_probability, 4),
                "language_uncertain": info.language_uncertain,
                "duration": round(info.duration, 3),
                "engine": info.engine,
                "model": info.model,
                "device": info.device,
                "text": narration.transcription.text,
                "sentences": [sentence_json(s) for s in narration.sentences],
            }
        )
    else:
        unsure = ", uncertain: choose it with --language" if info.language_uncertain else ""
        print(f"# {info.language} ({info.language_probability:.0%}{unsure}), {info.duration:.1f} s")
        for s in narration.sentences:
            english = f"  [{s.text_en}]" if s.text_en != s.text else ""
            if s.english_problem:
                english = f"  [no English line: {s.english_problem}]"
            print(f"{s.index:>3}  {s.start:6.2f}-{s.end:6.2f}  {s.text}{english}")
    return 0


def cmd_story(args: argparse.Namespace, settings: Settings) -> int:
    from ..jobs.inline import story_here
    from ..story.drafts import StoryOptions
    from ..story.picture_settings import default_params

    require_file(args.audio)
    if args.style:
        _check_style(args.style)
    # a value the model does not take is bad input: say so before any work
    params = default_params(settings, _picture_params(args, settings))
    library = open_library(settings)
    options = StoryOptions(
        title=args.title,
        class_name=args.class_name,
        style=args.style or StoryOptions.style,
        characters=args.characters,
        image_params=params,
        blocklist=_classroom_words(library),  # the Word list page's, as in the app
    )
    if args.enqueue:
        return _enqueue_story(library, settings, args, options)
    backend = _picture_backend(settings, library)
    story_id = None
    with progress_bar(None, "Storyboard") as bar:
        for event in story_here(
            library, settings, backend, args.audio, options, None, args.language
        ):
            story_id = event.story_id
            if event.kind == "scenes":
                _report_scene_writer(event.scenes)
            bar(event)
    return report_story(library, story_id, args.json)


def _report_scene_writer(scenes) -> None:
    """The scene writer's added latency: with no review step, pictures wait for it."""
    print(
        f"Scene writer ({scenes.path}): {scenes.seconds:.1f} s before the first picture.",
        file=sys.stderr,
        flush=True,
    )
    if scenes.notice:
        print(scenes.notice, file=sys.stderr, flush=True)


def cmd_regenerate(args: argparse.Namespace, settings: Settings) -> int:
    library = open_library(settings)
    story = library.get_story(args.story_id)
    if not args.enqueue:
        _refuse_if_busy(library, story)
    matches = [f.id for f in story.frames if f.index == args.frame]
    if args.frame is not None and not matches:
        raise UsageError(f"Story {story.id} {_frame_range(story)}; there is no frame {args.frame}.")
    if args.language and args.frame is not None:
        raise UsageError("--language hears the whole story again; it cannot go with --frame.")
    changed = _picture_params(args, settings, story)
    if changed is not None:  # checked and saved before any picture is drawn
        _save_story_params(library, settings, story, changed)
    if args.enqueue:
        frame_ids = matches if args.frame is not None else None
        return _enqueue_finish(library, settings, story, frame_ids, args.language)
    if args.frame is None:
        _finish(library, settings, story, args.language)
        return report_story(library, story.id, args.json)
    reseed = not (changed and changed.seed)  # a redone frame is a new picture, unless seeded
    _run_generation(library, settings, story.id, matches, len(matches), reseed=reseed)
    return report_story(library, story.id, args.json)


def _refuse_if_busy(library, story) -> None:
    """A story another command or a worker is finishing now is left to it: a second run would
    take its hold and find every frame 'drawing' (it ended by marking the story interrupted)."""
    from ..jobs import JobBook

    working = [j for j in JobBook(library).of_story(story.id, True) if j.kind != "export"]
    if story.status == "generating" or working:
        raise StoryBusyError(
            f"Story {story.id} is being finished elsewhere (another 'regenerate' or a worker) "
            f"right now. Nothing was changed; see how far it got with 'show {story.id}', and "
            "run 'regenerate' again once it has stopped if anything is still missing."
        )


def _frame_range(story) -> str:
    count = len(story.frames)
    if count == 0:
        return "has no frames yet (run 'regenerate' without --frame to finish it)"
    return "has only frame 0" if count == 1 else f"has frames 0 to {count - 1}"


def _finish(library, settings: Settings, story, language: str | None = None) -> None:
    """Transcribe again what an interrupted run did not (or, with ``language``, the whole
    story, in that language), then draw every missing picture."""
    from ..jobs.inline import finish_here, hear_again_here

    backend = _picture_backend(settings, library)
    _print_notes(library, story.id, backend)
    again = language and not story.sentences_missing
    if again:
        events = hear_again_here(library, settings, backend, story.id, language)
    else:
        events = finish_here(library, settings, backend, story.id, language=language)
    total = (
        None if story.sentences_missing or again else sum(f.status != "done" for f in story.frames)
    )
    with progress_bar(total, "Pictures") as bar:
        for event in events:
            bar(event)


def _classroom_words(library) -> tuple[str, ...]:
    from ..wordlist import classroom_words

    return classroom_words(library)


def _picture_params(args: argparse.Namespace, settings: Settings, story=None):
    """The picture settings given on the command line, for the given model or else the story's
    (``regenerate``) or the default one. None for a story when no option was given."""
    from ..pictures import ImageParams, catalogue
    from ..story.picture_settings import story_params

    given = (args.image_model, args.aspect, args.steps, args.cfg, args.sampler, args.seed)
    if story is not None and all(value is None for value in given):
        return None
    models = catalogue(settings)
    model = args.image_model
    if not model and story is not None:
        model = story_params(story)[0].model
    return ImageParams(
        model=model if model and (args.image_model or model in models) else next(iter(models)),
        aspect_ratio=args.aspect,
        steps=args.steps,
        cfg_scale=args.cfg,
        sampler=args.sampler,
        seed=0 if args.seed is None else args.seed,
    )


def _save_story_params(library, settings: Settings, story, changed) -> None:
    """Regenerate's picture options replace the story's own (given ones win, the rest stay);
    raises InvalidRequestError, before anything is drawn, for a value the model does not take."""
    import dataclasses

    from ..pictures import ImageParams, catalogue, check_seed, get_model
    from ..story.picture_settings import save_params, story_params

    check_seed(changed.seed)
    saved, _word_list = story_params(story)
    if changed.model != saved.model:  # another model's steps, cfg or shape may not fit this one
        saved = ImageParams(changed.model, seed=saved.seed, negative_prompt=saved.negative_prompt)
    given = {k: v for k, v in dataclasses.asdict(changed).items() if v not in (None, 0, "")}
    merged = dataclasses.replace(saved, **given)
    model = get_model(catalogue(settings), merged.model)
    save_params(library, story.id, merged.resolved(model))


def _picture_backend(settings: Settings, library):
    """The backend; NVIDIA's request rate is counted in the library's database, so
    S2I_IMAGE_RPM holds for every process and replica using that key."""
    from ..pictures import choose_backend, load_backend

    backend = load_backend(settings, shared_limits=library.request_limiter)
    if backend is None:
        print(f"note: {choose_backend(settings).detail}", file=sys.stderr)
    return backend


def _print_notes(library, story_id: int, backend) -> None:
    from ..story.picture_settings import refit_story_params

    if backend is not None:
        for note in refit_story_params(library, story_id, backend.models)[2]:
            print(f"note: {note}", file=sys.stderr)


def _run_generation(library, settings, story_id, frame_ids, total, reseed=False) -> None:
    from ..jobs import pictures_job
    from ..jobs.inline import run_here

    backend = _picture_backend(settings, library)
    _print_notes(library, story_id, backend)
    job = pictures_job(library.get_story(story_id), frame_ids, reseed)
    with progress_bar(total, "Pictures") as bar:
        for event in run_here(settings, library, [job], backend):
            bar(event)


def _enqueue_story(library, settings: Settings, args: argparse.Namespace, options) -> int:
    from ..jobs import queue_transcription
    from ..story.drafts import start_story

    story = start_story(library, settings, args.audio, options, args.language)
    queue_transcription(settings, library, story.id, args.language, then_draw=True)
    print(f"Queued story {story.id}; follow it with 'show {story.id}'.", file=sys.stderr)
    if args.json:
        print_json({"id": story.id, "status": "queued"})
    else:
        print(story.id)
    return 0


def _enqueue_finish(
    library, settings: Settings, story, frame_ids: list[int] | None, language: str | None = None
) -> int:
    from ..jobs import queue_pictures, queue_transcription, transcribe_again

    if frame_ids is None and story.sentences_missing:
        heard_in = language or story.language or None
        queue_transcription(settings, library, story.id, heard_in, then_draw=True)
    elif language:
        transcribe_again(settings, library, story.id, language, then_draw=True)
    else:
        queue_pictures(settings, library, story, frame_ids, reseed=frame_ids is not None)
    print(f"Queued story {story.id}; follow it with 'show {story.id}'.", file=sys.stderr)
    print(story.id)
    return 0


def require_file(path: Path) -> None:
    if not path.is_file():
        raise UsageError(f"There is no audio file at {path}. Check the path and try again.")
    if not os.access(path, os.R_OK):
        raise UsageError(
            f"{path} cannot be read (permission denied). Ask for read access or copy the file "
            "somewhere this account can read."
        )


def _check_style(style: str) -> None:
    from ..story.prompts import STYLES

    if style not in STYLES:
        raise UsageError(f"Unknown style '{style}'. Choose one of: {', '.join(STYLES)}.")
