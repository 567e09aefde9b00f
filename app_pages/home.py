"""Home: what the app does; for the teacher, where things stand. Loads no model."""

import streamlit as st

from s2i_core.lan import qr_png
from s2i_core.pictures import catalogue, choose_backend
from s2i_core.speech import device_label
from s2i_ui import account, resources, roles, widgets
from s2i_ui.i18n import _, ngettext, tr

settings = resources.settings()
viewer = roles.viewer(settings)

st.title(_("Speech to Storyboard"))
st.markdown(
    _(
        "Tell a story out loud and watch it become a picture book: each sentence you say gets its "
        "own picture. Save the storyboard, replay it as a read-along with your class, or print it "
        "as a PDF."
    )
)

if roles.single_user(settings):
    st.info(
        _(
            "**Single-user mode.** No teacher passcode is set, so everyone using this app can "
            "create, edit and delete stories. Set `S2I_TEACHER_PASSCODE` to give students a "
            "read-only view."
        ),
        icon=":material/person:",
    )
elif viewer.teacher and viewer.signed_in_as:
    st.success(
        _(
            "**Signed in as {email}.** You can create stories and change yours and those shared "
            "with the school.",
            email=viewer.signed_in_as,
        )
        + (" " + _("As an admin you manage every story.") if viewer.admin else ""),
        icon=":material/verified_user:",
    )
elif viewer.teacher:
    st.success(
        _("**Teacher mode.** You can create, edit and delete stories."),
        icon=":material/lock_open:",
    )
else:
    st.info(_("**Student view.** Browse the library and replay stories."), icon=":material/school:")

teacher = viewer.teacher
if teacher:
    left, right = st.columns(2)
    if left.button(
        _("Start a storytelling session"), icon=":material/mic:", type="primary", width="stretch"
    ):
        st.switch_page(widgets.CREATE_PAGE)
else:
    right = st.container()
if right.button(
    _("Open the library"),
    icon=":material/local_library:",
    type="secondary" if teacher else "primary",
    width="stretch",
):
    st.switch_page(widgets.LIBRARY_PAGE)

if not teacher:  # on a phone the sidebar is hidden: the passcode is right here too
    if roles.school_mode() and viewer.class_name is None:
        st.markdown(_("**Student?** Type the class code your teacher shows you."))
        account.class_form(settings, key="home_class")
    if roles.school_mode():
        with st.expander(_("Teacher? Sign in"), icon=":material/login:"):
            account.sign_in_box(settings, viewer, key="home")
    if roles.passcode_allowed(settings):
        with st.expander(_("Teacher? Unlock teacher mode"), icon=":material/lock:"):
            widgets.unlock_form(settings, key="home_unlock")
    library = resources.library(settings)
    count = library.count_stories(viewer=viewer, watchable=True)
    if viewer.class_name:
        st.caption(
            ngettext(
                "{n} story in the library of {name}",
                "{n} stories in the library of {name}",
                count,
                name=viewer.class_name,
            )
        )
    else:
        st.caption(ngettext("{n} story in the library", "{n} stories in the library", count))
    st.stop()

account.pictures_line(settings, viewer)

if settings.public_url and teacher:
    with st.container(border=True):
        words, code = st.columns([3, 1], vertical_alignment="center")
        words.markdown("**:material/devices: " + _("Students join on their own tablets") + "**")
        words.markdown(
            _(
                "Open **{address}** in the tablet's browser, or scan the code.",
                address=settings.public_url,
            )
        )
        words.caption(
            _(
                "The first time, the browser warns that the connection is not private: this "
                "computer made its own certificate. Choose *Advanced* → *Proceed* (Chrome) or "
                "*Show details* → *visit this website* (Safari) once on each tablet."
            )
        )
        code.image(
            qr_png(settings.public_url, scale=6),
            caption=_("Scan to join"),
            width=150,
            alt=_("QR code of the address students open: {address}", address=settings.public_url),
        )

account.classes_panel(settings, viewer)

st.subheader(_("Status"))
library = resources.library(settings)
engine = resources.loaded_engine(settings)
pictures_backend = choose_backend(settings)
speech, pictures, stories = st.columns(3)
on_workers = engine is None and "speech" not in settings.app_worker_queues
with speech, st.container(border=True):
    st.markdown("**:material/record_voice_over: " + _("Speech recognition") + "**")
    if on_workers:
        st.markdown(_("Ready on the school's workers"))
    elif engine is None:
        st.markdown(_("Ready"))
        st.caption(_("The first story of the day takes a little longer: the listener wakes up."))
    else:
        st.markdown(_("Ready"))
with pictures, st.container(border=True):
    st.markdown("**:material/palette: " + _("Pictures") + "**")
    if pictures_backend.ready:
        st.markdown(_("Ready"))
        st.caption(":material/check_circle: " + _("Each sentence gets its picture."))
    else:
        st.markdown(_("Not set up"))
        st.caption(":material/cancel: " + tr(pictures_backend.detail))
with stories, st.container(border=True):
    st.markdown("**:material/local_library: " + _("Library") + "**")
    count = library.count_stories(viewer=viewer)
    st.markdown(ngettext("{n} story saved", "{n} stories saved", count))
    st.caption(_("Open the library to search, replay and print them."))

with st.expander(_("Details"), icon=":material/info:"):
    if on_workers:
        st.markdown(
            _("Speech: Whisper `{model}` on separate workers", model=settings.whisper_model)
        )
        st.caption(
            _("`python -m s2i_core worker` transcribes: this app process holds no speech model.")
        )
    elif engine is None:
        name, device = resources.planned_engine(settings.asr_engine, settings.asr_device)
        st.markdown(
            _(
                "Speech: {engine} · Whisper `{model}` · {device}",
                engine=name,
                model=settings.whisper_model,
                device=device,
            )
        )
        st.caption(_("The model is not loaded yet: it loads with the first transcription."))
    else:
        st.markdown(
            _("Speech: {engine} · Whisper `{model}`", engine=engine.name, model=engine.model)
        )
        st.caption(
            _(
                "Running on {device} ({compute}).",
                device=device_label(engine.device),
                compute=engine.compute_type,
            )
        )
    if pictures_backend.ready:
        model = next(iter(catalogue(settings).values()))
        st.markdown(
            _(
                "Pictures: {service} · {model}",
                service=tr(pictures_backend.label),
                model=tr(model.label),
            )
        )
        st.caption(tr(pictures_backend.detail))
    else:
        st.markdown(_("Pictures: {service}", service=tr(pictures_backend.label)))
    if settings.llm != "off":
        st.markdown(_("Scene writer: `{model}`", model=settings.llm_model))
