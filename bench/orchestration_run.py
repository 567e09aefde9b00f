"""One streamed storyboard, timed, through whichever engine is first on ``sys.path`` (a fresh
process for bench/orchestration.py). Reads its settings as JSON on stdin, prints its times as JSON.

It imports nothing from ``bench`` or ``tests``, so an older commit's ``s2i_core`` can run it."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def storyboard_runner():
    """The CLI's way through the engine: since issue 19, the workers' job handlers on an
    in-process queue; before it, pipeline.stream_story (the same arguments, the same events)."""
    try:
        from s2i_core.jobs.inline import story_here
        from s2i_core.story.drafts import StoryOptions

        return "jobs.inline.story_here", story_here, StoryOptions
    except ImportError:
        from s2i_core.pipeline import StoryOptions, stream_story

        return "pipeline.stream_story", stream_story, StoryOptions


def main() -> None:
    asked = json.load(sys.stdin)
    from s2i_core.audio import decode_audio
    from s2i_core.pictures.nvidia import NvidiaBackend
    from s2i_core.settings import Settings
    from s2i_core.speech import load_engine
    from s2i_core.storage import Library

    path, run, story_options = storyboard_runner()
    clip = Path(asked["clip"])
    settings = Settings(**asked["settings"] | {"data_dir": Path(asked["settings"]["data_dir"])})
    engine = load_engine(settings)
    engine.transcribe(decode_audio(clip, settings).samples[: 16000 * 2])  # warm up
    library, client = Library(settings), NvidiaBackend(settings)
    sentences, pictures = [], []
    started = time.perf_counter()
    for event in run(library, settings, client, clip, story_options("Bench story"), engine):
        if event.kind == "frame_added":
            sentences.append(time.perf_counter() - started)
        elif event.kind == "frame_done":
            pictures.append(time.perf_counter() - started)
    total = time.perf_counter() - started
    client.close()
    library.close()
    print(
        json.dumps(
            {
                "path": path,
                "total": total,
                "first_sentence": min(sentences),
                "first_picture": min(pictures),
                "frames": len(pictures),
            }
        )
    )


if __name__ == "__main__":
    main()
