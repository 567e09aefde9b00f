"""Home: what the app does; for the teacher, where things stand. Loads no model."""

import streamlit as st

from s2i_core.lan import qr_png
from s2i_core.pictures import catalogue, choose_backend
from s2i_core.speech import device_label
from s2i_ui import account, resources, roles, widgets

settings = resources.settings()
viewer = roles.viewer(settings)

st.title("Speech to Storyboard")
st.markdown(
    "Tell a story out loud and watch it become a picture book: each sentence you say gets its own "
    "picture. Save the storyboard, replay it as a read-along with your class, or print it as a PDF."
)

if roles.single_user(settings):
    st.info(
        "**Single-user mode.** No teacher passcode is set, so everyone using this app can create, "
        "edit and delete stories. Set `S2I_TEACHER_PASSCODE` to give students a read-only view.",
        icon=":material/person:",
    )
elif viewer.teacher and viewer.signed_in_as:
    st.success(
        f"**Signed in as {viewer.signed_in_as}.** You can create stories and change yours and "
        "those shared with the school."
        + (" As an admin you manage every story." if viewer.admin else ""),
        icon=":material/verified_user:",
    )
elif viewer.teacher:
    st.success(
        "**Teacher mode.** You can create, edit and delete stories.", icon=":material/lock_open:"
    )
else:
    st.info("**Student view.** Browse the library and replay stories.", icon=":material/school:")

teacher = viewer.teacher
if teacher:
    left, right = st.columns(2)
    if left.button(
        "Start a storytelling session", icon=":material/mic:", type="primary", width="stretch"
    ):
        st.switch_page(widgets.CREATE_PAGE)
else:
    right = st.container()
if right.button(
    "Open the library",
    icon=":material/local_library:",
    type="secondary" if teacher else "primary",
    width="stretch",
):
    st.switch_page(widgets.LIBRARY_PAGE)

if not teacher:  # on a phone the sidebar is hidden: the passcode is right here too
    if roles.school_mode() and viewer.class_name is None:
        st.markdown("**Student?** Type the class code your teacher shows you.")
        account.class_form(settings, key="home_class")
    if roles.school_mode():
        with st.expander("Teacher? Sign in", icon=":material/login:"):
            account.sign_in_box(settings, viewer, key="home")
    if roles.passcode_allowed(settings):
        with st.expander("Teacher? Unlock teacher mode", icon=":material/lock:"):
            widgets.unlock_form(settings, key="home_unlock")
    library = resources.library(settings)
    count = library.count_stories(viewer=viewer, watchable=True)
    where = f" of {viewer.class_name}" if viewer.class_name else ""
    st.caption(f"{count} {'story' if count == 1 else 'stories'} in the library{where}")
    st.stop()

account.pictures_line(settings, viewer)

if settings.public_url and teacher:
    with st.container(border=True):
        words, code = st.columns([3, 1], vertical_alignment="center")
        words.markdown("**:material/devices: Students join on their own tablets**")
        words.markdown(f"Open **{settings.public_url}** in the tablet's browser, or scan the code.")
        words.caption(
            "The first time, the browser warns that the connection is not private: this computer "
            "made its own certificate. Choose *Advanced* → *Proceed* (Chrome) or *Show details* → "
            "*visit this website* (Safari) once on each tablet."
        )
        code.image(
            qr_png(settings.public_url, scale=6),
            caption="Scan to join",
            width=150,
            alt=f"QR code of the address students open: {settings.public_url}",
        )

account.classes_panel(settings, viewer)

st.subheader("Status")
library = resources.library(settings)
engine = resources.loaded_engine(settings)
pictures_backend = choose_backend(settings)
speech, pictures, stories = st.columns(3)
on_workers = engine is None and "speech" not in settings.app_worker_queues
with speech, st.container(border=True):
    st.markdown("**:material/record_voice_over: Speech recognition**")
    if on_workers:
        st.markdown("Ready on the school's workers")
    elif engine is None:
        st.markdown("Ready")
        st.caption("The first story of the day takes a little longer: the listener wakes up.")
    else:
        st.markdown("Ready")
with pictures, st.container(border=True):
    st.markdown("**:material/palette: Pictures**")
    if pictures_backend.ready:
        st.markdown("Ready")
        st.caption(":material/check_circle: Each sentence gets its picture.")
    else:
        st.markdown("Not set up")
        st.caption(f":material/cancel: {pictures_backend.detail}")
with stories, st.container(border=True):
    st.markdown("**:material/local_library: Library**")
    count = library.count_stories(viewer=viewer)
    st.markdown(f"{count} {'story' if count == 1 else 'stories'} saved")
    st.caption("Open the library to search, replay and print them.")

with st.expander("Details", icon=":material/info:"):
    if on_workers:
        st.markdown(f"Speech: Whisper `{settings.whisper_model}` on separate workers")
        st.caption(
            "`python -m s2i_core worker` transcribes: this app process holds no speech model."
        )
    elif engine is None:
        name, device = resources.planned_engine(settings.asr_engine, settings.asr_device)
        st.markdown(f"Speech: {name} · Whisper `{settings.whisper_model}` · {device}")
        st.caption("The model is not loaded yet: it loads with the first transcription.")
    else:
        st.markdown(f"Speech: {engine.name} · Whisper `{engine.model}`")
        st.caption(f"Running on {device_label(engine.device)} ({engine.compute_type}).")
    if pictures_backend.ready:
        model = next(iter(catalogue(settings).values()))
        st.markdown(f"Pictures: {pictures_backend.label} · {model.label}")
        st.caption(pictures_backend.detail)
    else:
        st.markdown(f"Pictures: {pictures_backend.label}")
    if settings.llm != "off":
        st.markdown(f"Scene writer: `{settings.llm_model}`")
