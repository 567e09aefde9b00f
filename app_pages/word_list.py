"""Classroom word list (teacher): the words that stop a picture, on top of the school's list.

The school's list (s2i_core/wordlist/data) always applies: violence, weapons, gore, sexual
content, slurs and more, in nine languages, each word in every form and however it is written.
Here a teacher adds words, and lets through ones the school's list stops (``!word``). New stories
start with this list; each story keeps the one it was made with.
"""

import streamlit as st

from s2i_core.i18n import N_
from s2i_core.languages import LANGUAGE_NAMES
from s2i_core.wordlist import (
    SOURCE_NOTE,
    WORD_LIST_SETTING,
    WordList,
    classroom_words,
    parse_words,
    school_entries,
    school_languages,
)
from s2i_ui import i18n, resources, roles, widgets
from s2i_ui.i18n import _, ngettext

KINDS = {  # the school list's categories (and the teacher's own words), as a teacher reads them
    "teacher": N_("your list"),
    "allow": N_("Let through"),
    "violence": N_("violence"),
    "weapons": N_("weapons"),
    "gore": N_("gore"),
    "self-harm": N_("self-harm"),
    "sexual": N_("sexual content"),
    "slurs": N_("slurs"),
    "profanity": N_("swearing"),
    "drugs": N_("drugs"),
}


def kind(category: str) -> str:
    return _(KINDS[category]) if category in KINDS else category


settings = resources.settings()
st.title(_("Classroom word list"))
widgets.teacher_gate(settings, _("change the word list"))
library = resources.library(settings)

st.caption(
    _(
        "The school's list always applies: it stops violence, weapons, gore, sexual content, "
        "slurs, swearing and hard drugs in English, Spanish, French, German, Hindi, Chinese, "
        "Japanese, Portuguese and Arabic, in every form of each word (“kill” stops killed and "
        "killing) and however it is written (bl00d, b l o o d). A frame it stops says which "
        "word, and where. New stories start with the list below; each story keeps the one it "
        "was made with."
    )
)
saved = classroom_words(library)
added = st.text_area(
    _("Also stop these words (commas or new lines)"),
    ", ".join(w for w in saved if not w.startswith("!")),
    height=110,
    key="wl_words",
    placeholder=_("dragon, ghost"),
)
allowed = st.text_area(
    _("Let these through, although the school's list stops them"),
    ", ".join(w[1:] for w in saved if w.startswith("!")),
    height=70,
    key="wl_allow",
    placeholder=_("knife, shot dead"),
    help=_("A word lets every phrase with it through; a phrase (“butter knife”) only that phrase."),
)
words = (*parse_words(added), *(f"!{w.lstrip('!')}" for w in parse_words(allowed)))
left, right = st.columns(2)
if left.button(_("Save the word list"), type="primary", icon=":material/save:", key="wl_save"):
    roles.require_teacher(settings, _("change the word list"))
    library.set_classroom_setting(WORD_LIST_SETTING, list(words))
    widgets.notify(
        ngettext(
            "The word list is saved ({n} word). New stories use it.",
            "The word list is saved ({n} words). New stories use it.",
            len(words),
        )
    )
    st.rerun()
if right.button(_("Only the school's list"), key="wl_reset"):
    roles.require_teacher(settings, _("change the word list"))
    library.set_classroom_setting(WORD_LIST_SETTING, [])
    for box in ("wl_words", "wl_allow"):  # the boxes show the saved (empty) list again
        st.session_state.pop(box, None)
    widgets.notify(_("The word list is back to the school's list alone."))
    st.rerun()

st.subheader(_("Try a sentence"))
sample = st.text_input(
    _("Sentence"), placeholder=_("The pirates sharpened their knives."), key="wl_try"
)
codes = sorted(LANGUAGE_NAMES, key=i18n.language)
language = st.selectbox(
    _("Language of the sentence"),
    codes,
    index=codes.index("en"),
    format_func=i18n.labels(codes, i18n.language),
    key="wl_lang",
    help=_("Words count in every form in this language too (knives for knife)."),
)
if sample.strip():
    hits = WordList(words, language).find(sample, "sentence")
    if hits:
        found = ", ".join(f"{h.found} ({kind(h.entry.category)})" for h in hits)
        st.warning(_("Stopped by: {words}", words=found), icon=":material/block:")
    else:
        st.success(
            _("No listed word: this sentence would get its picture."), icon=":material/check:"
        )

with st.expander(_("The school's list"), icon=":material/menu_book:"):
    entries = school_entries()
    school_codes = school_languages()
    code = st.selectbox(
        _("Language"),
        school_codes,
        format_func=i18n.labels(school_codes, i18n.language),
        key="wl_school_lang",
    )
    shown = [e for e in entries if e.language == code]
    for category in dict.fromkeys(e.category for e in shown):
        listed = [("=" if e.exact else "") + e.text for e in shown if e.category == category]
        title = kind(category)
        st.markdown(f"**{title[:1].upper() + title[1:]}** ({len(listed)}): `{', '.join(listed)}`")
    # where the school's words come from: a note for whoever looks after the list (English)
    st.caption(_("Where these words come from, for whoever looks after the list (in English):"))
    st.markdown(SOURCE_NOTE.read_text(encoding="utf-8"))
