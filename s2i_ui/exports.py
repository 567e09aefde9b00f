"""The story's downloads: its PDF and its narrated video, made by the workers, kept per version.

Asking for an export queues a job; while it runs, a fragment reads its progress from the
database about once a second, so leaving the page and coming back finds it running or finished.
A finished export is offered as long as the story is unchanged (see s2i_core.exports.stored);
once a sentence is edited or a picture redrawn, a fresh one is offered instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from s2i_core import jobs
from s2i_core.errors import S2IError
from s2i_core.exports import export_file_name, missing_note
from s2i_core.exports.stored import ExportOptions, find, require_content, stored_path
from s2i_core.i18n import N_
from s2i_core.settings import Settings
from s2i_core.storage import Library, StoryRecord

from . import roles, widgets
from .i18n import _, tr
from .storyboard import REFRESH_SECONDS


@dataclass(frozen=True)
class Kind:
    options: ExportOptions
    make: str  # the button that asks for it (msgids, shown in the reader's language)
    download: str  # the button that hands it over
    icon: str
    mime: str
    help: str
    coming: str  # while the workers make it
    changed: str  # made, for an earlier version of the story
    fresh: str  # the button that asks for this version's


PDF = Kind(
    ExportOptions("pdf"),
    N_("Make the PDF"),
    N_("Download PDF"),
    ":material/picture_as_pdf:",
    "application/pdf",
    N_("A printable storyboard: two pictures a page, each with its sentence."),
    N_("The PDF will be ready to download soon."),
    N_("The story changed after its PDF was made."),
    N_("Make a fresh PDF"),
)
VIDEO = Kind(
    ExportOptions("video"),
    N_("Make a narrated video"),
    N_("Download video (MP4)"),
    ":material/movie:",
    "video/mp4",
    N_(
        "The pictures in turn with the teacher's voice, to watch at home. "
        "It needs the story's recording and at least one sentence."
    ),
    N_("The video will be ready to download soon."),
    N_("The story changed after its video was made."),
    N_("Make a fresh video"),
)


def export_buttons(settings: Settings, library: Library, story: StoryRecord) -> None:
    """Students get the downloads that are made, and nothing of how they are made (the workers
    make both once the story's last picture is drawn); the teacher also sees their progress and
    can ask for them."""
    teacher = roles.is_teacher(settings)
    note = missing_note(story) if teacher else None
    if note:  # characters no font here has would print as empty boxes
        st.warning(tr(note), icon=":material/warning:")
    for column, kind in zip(st.columns(2), (PDF, VIDEO), strict=True):
        with column:
            if teacher:
                offer(settings, library, story, kind)
            else:
                download_only(library, story, kind)


def download_only(library: Library, story: StoryRecord, kind: Kind) -> None:
    """The download when it is made; else, while it is being made, a word that it is coming."""
    if find(library, story, kind.options) is not None:
        download(library, story, kind)
        return
    job = jobs.latest_export(library, story.id, kind.options)
    if job is not None and job.active:
        coming(library, story.id, kind)


@st.fragment(run_every=2.0)
def coming(library: Library, story_id: int, kind: Kind) -> None:
    """A word that the download is coming; the page offers it once it is made."""
    job = jobs.latest_export(library, story_id, kind.options)
    if job is None or not job.active:
        widgets.rerun_page()
        return
    st.caption(":material/hourglass_top: " + _(kind.coming))


def download(library: Library, story: StoryRecord, kind: Kind) -> None:
    path = find(library, story, kind.options)
    if path is not None:
        st.download_button(
            _(kind.download),
            icon=kind.icon,
            data=path.read_bytes,  # read when clicked, not on every run of the page
            file_name=export_file_name(story.title, path.suffix),  # the title, in any script
            mime=kind.mime,
            width="stretch",
            key=f"download_{kind.options.format}",
            # No rerun on click: the browser asks for the file just after the click's rerun
            # starts, and a rerun that ends first retires the file's id, so under load the
            # download failed with nothing to show for it (Streamlit: "Deferred file not found").
            on_click="ignore",
        )


def offer(settings: Settings, library: Library, story: StoryRecord, kind: Kind) -> None:
    """The download when this version's export is made, its progress while it is being made,
    or the button that asks for it (saying why it failed or that the story changed since)."""
    if find(library, story, kind.options) is not None:
        download(library, story, kind)
        return
    job = jobs.latest_export(library, story.id, kind.options)
    if job is not None and job.active:
        watch(library, story.id, kind)
        return
    label = _(kind.make)
    if job is not None and job.state == "failed":
        st.error(tr(job.error), icon=":material/error:")
    elif job is not None and job.state == "done" and job.detail != _stored(library, story, kind):
        st.caption(_(kind.changed))
        label = _(kind.fresh)
    missing = _missing(story, kind)
    if st.button(
        label,
        icon=kind.icon,
        disabled=missing is not None,
        help=missing or _(kind.help),
        width="stretch",
        key=f"make_{kind.options.format}",
    ):
        request(settings, library, story, kind)


@st.fragment(run_every=REFRESH_SECONDS)
def watch(library: Library, story_id: int, kind: Kind) -> None:
    """The export's progress, read from the database each second, until it ends."""
    job = jobs.latest_export(library, story_id, kind.options)
    if job is None or not job.active:
        widgets.rerun_page()  # the whole page: the download button, or what went wrong
        return
    st.progress(job.fraction or 0.0, text=tr(job.detail))
    if kind.options.format == "video" and st.button(
        _("Stop making the video"),
        icon=":material/stop_circle:",
        key="cancel_video",
        width="stretch",
    ):
        jobs.cancel_export(library, job)
        st.rerun()


def request(settings: Settings, library: Library, story: StoryRecord, kind: Kind) -> None:
    try:
        require_content(story, kind.options)
        jobs.queue_export(settings, library, story.id, kind.options)
    except S2IError as error:
        widgets.show_error(error)
        return
    st.rerun()


def _missing(story: StoryRecord, kind: Kind) -> str | None:
    """Why this export cannot be made yet, for the disabled button's tooltip."""
    try:
        require_content(story, kind.options)
    except S2IError as error:
        return tr(error)
    if kind.options.format == "video" and not story.narration_path:
        return _("This story has no recording, and a narrated video needs one.")
    return None


def _stored(library: Library, story: StoryRecord, kind: Kind) -> str:
    return stored_path(library, story, kind.options).relative_to(library.data_dir).as_posix()
