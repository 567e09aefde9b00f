"""Step 1 and 2 of the Create page: the story's details, its narration, and transcription.

When transcription finishes, the story and its narration are already in the library as a draft.
"""

from __future__ import annotations

import math
from pathlib import Path

import streamlit as st

from s2i_core import jobs
from s2i_core.errors import S2IError
from s2i_core.languages import LANGUAGE_NAMES, language_name
from s2i_core.settings import Settings
from s2i_core.storage import Library
from s2i_core.story.drafts import StoryOptions, start_story
from s2i_core.story.prompts import (
    DEFAULT_STYLE,
    STYLES,
    classroom_word_list,
    parse_blocklist,
)
from s2i_ui import picture_options, resources, roles, widgets

from . import draft as drafts
from .draft import Draft, Narration
from .recorder import recorder

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "samples" / "fox_and_balloon.wav"
SAMPLE_TITLE = "The fox and the balloon"
UPLOAD_TYPES = ["wav", "mp3", "m4a", "mp4", "aac", "ogg", "oga", "opus", "webm", "flac"]
AUDIO_TYPES = {
    "wav": "audio/wav",
    "mp3": "audio/mpeg",
    "m4a": "audio/mp4",
    "mp4": "audio/mp4",
    "ogg": "audio/ogg",
    "oga": "audio/ogg",
    "opus": "audio/ogg",
    "webm": "audio/webm",
    "flac": "audio/flac",
    "aac": "audio/aac",
}
RECORD, UPLOAD, USE_SAMPLE = "Record", "Upload a file", "Sample story"
LAST_CLASS_KEY = "s2i_last_class"
state = st.session_state


def step(settings: Settings, library: Library) -> None:
    story_details(settings, library)
    narration_input(settings)
    transcribe_step(settings, library)


def use_sample() -> None:
    drafts.set_narration(Narration(SAMPLE.read_bytes(), SAMPLE.name, "sample"))
    if not state.get("c_title", "").strip():
        state["c_title"] = SAMPLE_TITLE


def last_class(library: Library) -> str:
    latest = library.list_stories(limit=1)
    return latest[0].class_name if latest else ""


def story_details(settings: Settings, library: Library) -> None:
    st.subheader("1 · The story")
    left, right = st.columns(2)
    if "c_class" not in state:  # the class of the last story, so a lesson's stories group up
        state["c_class"] = state.get(LAST_CLASS_KEY, last_class(library))
    left.text_input(
        "Title", key="c_title", max_chars=200, placeholder="for example: The fox and the balloon"
    )
    right.text_input(
        "Class", key="c_class", max_chars=100, placeholder="for example: Year 2 Robins"
    )
    left.selectbox(
        "Picture style",
        list(STYLES),
        index=list(STYLES).index(DEFAULT_STYLE),
        format_func=lambda name: STYLES[name].label,
        key="c_style",
    )
    right.selectbox(
        "Language",
        ["auto", *sorted(LANGUAGE_NAMES, key=language_name)],
        format_func=lambda code: "Detect automatically" if code == "auto" else language_name(code),
        key="c_language",
    )
    st.caption(STYLES[state.get("c_style", DEFAULT_STYLE)].description)
    st.text_area(
        "Characters and setting (optional)",
        key="c_characters",
        max_chars=400,
        height=80,
        placeholder="for example: Rosie is a small red fox with a green scarf. "
        "The story happens in a snowy forest.",
        help="Added to every picture's prompt so characters look the same in every picture.",
    )
    with st.expander("Details: picture model and settings"):
        advanced_settings(settings)


def advanced_settings(settings: Settings) -> None:
    picture_options.picture_options(settings)
    st.text_area(
        "Classroom word list",
        ", ".join(classroom_word_list(resources.library(settings))),
        key="c_blocklist",
        height=70,
        help="Words that stop a picture, on top of the school's list; !word lets a word through.",
    )


def narration_input(settings: Settings) -> None:
    st.subheader("2 · The narration")
    how = st.radio(
        "How do you want to tell the story?",
        [RECORD, UPLOAD, USE_SAMPLE],
        horizontal=True,
        key="c_how",
    )
    if how == RECORD:
        st.caption(
            "Press Start recording, tell your story, then press Stop recording. The bar moves "
            "while the microphone hears you."
        )
        recording = recorder("c_recorder")
        if recording is not None:
            drafts.set_narration(Narration(recording.data, recording.name, recording.source))
    elif how == UPLOAD:
        upload = st.file_uploader(
            "Narration file",
            type=UPLOAD_TYPES,
            key="c_upload",
            max_upload_size=upload_limit_mb(settings),
            help=f"Up to {upload_limit_mb(settings)} MB. A longer story fits in a compressed "
            "file (MP3, M4A, OGG).",
        )
        chosen = drafts.narration()
        if upload is not None and (chosen is None or chosen.source != upload.file_id):
            drafts.set_narration(Narration(upload.getvalue(), upload.name, upload.file_id))
    else:
        st.caption(f"“{SAMPLE_TITLE}”: a 17-second story read by a computer voice.")
        st.button("Use the sample story", on_click=use_sample, key="c_use_sample")

    narration = drafts.narration()
    if narration:
        st.audio(narration.data, format=AUDIO_TYPES.get(narration.suffix, "audio/wav"))
        st.caption(f"{widgets.plain(narration.name)} · {widgets.file_size(len(narration.data))}")


def upload_limit_mb(settings: Settings) -> int:
    """The one upload limit pages state (the uploader says it too, and refuses a larger file):
    the engine's S2I_MAX_AUDIO_MB, within what the server accepts (server.maxUploadSize)."""
    return max(1, min(math.floor(settings.max_audio_mb), st.get_option("server.maxUploadSize")))


def transcribe_step(settings: Settings, library: Library) -> None:
    if not st.button(
        "Transcribe the narration", icon=":material/subtitles:", type="primary", key="c_transcribe"
    ):
        return
    title = state.get("c_title", "").strip()
    narration = drafts.narration()
    problems = []
    if not title:
        problems.append("Give the story a title.")
    if not narration and state.get("c_how") == UPLOAD:
        problems.append(
            "Choose the narration file first. A file over "
            f"{upload_limit_mb(settings)} MB is refused: upload a compressed one (MP3, M4A, OGG) "
            "or record a shorter story."
        )
    elif not narration:
        problems.append("Record, upload or choose the sample narration first.")
    elif len(narration.data) > settings.max_audio_bytes:
        problems.append(
            f"The narration is larger than {settings.max_audio_mb:g} MB. "
            "Record a shorter story or upload a compressed file (MP3, M4A, OGG)."
        )
    for problem in problems:
        st.error(problem, icon=":material/front_hand:")
    if problems:
        return
    options = StoryOptions(
        title=title,
        class_name=state.get("c_class", ""),
        style=state.get("c_style", DEFAULT_STYLE),
        characters=state.get("c_characters", ""),
        image_params=picture_options.chosen_params(settings),
        blocklist=parse_blocklist(
            state.get("c_blocklist", ", ".join(classroom_word_list(library)))
        ),
        owner=roles.owner(settings),
    )
    language = state.get("c_language", "auto")
    language = None if language == "auto" else language
    try:  # the audio is checked and saved here, at once; a worker transcribes it
        story = start_story(library, settings, narration.data, options, language)
        jobs.queue_transcription(settings, library, story.id, language)
    except S2IError as error:
        widgets.show_error(error)
        return
    state[LAST_CLASS_KEY] = options.class_name
    drafts.begin(Draft(story.id, [], story.language, transcribing=True))
    st.rerun()
