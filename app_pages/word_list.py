"""Classroom word list (teacher): the words that stop a picture, in every form, for new stories.

A listed word also stops its other forms ("kill": killed, kills, killing; "knife": knives), in
English and in the story's language. A frame it stops can be fixed by editing and redrawing.
"""

import streamlit as st

from s2i_core.exports import LANGUAGE_NAMES
from s2i_core.story.prompts import (
    DEFAULT_BLOCKLIST,
    WORD_LIST_SETTING,
    WordList,
    classroom_word_list,
    parse_blocklist,
)
from s2i_ui import i18n, resources, roles, widgets
from s2i_ui.i18n import _, ngettext

settings = resources.settings()
st.title(_("Classroom word list"))
widgets.teacher_gate(settings, _("change the word list"))
library = resources.library(settings)

st.caption(
    _(
        "A sentence, its English line or its scene containing one of these words gets no "
        "picture. Other forms count too: “kill” also stops killed, kills and killing; “knife” "
        "stops knives. New stories start with this list; each story keeps the list it was made "
        "with."
    )
)
words = classroom_word_list(library)
text = st.text_area(
    _("Words, separated by commas or new lines"), ", ".join(words), height=160, key="wl_words"
)
left, right = st.columns(2)
if left.button(_("Save the word list"), type="primary", icon=":material/save:", key="wl_save"):
    roles.require_teacher(settings, _("change the word list"))
    saved = list(parse_blocklist(text))
    library.set_classroom_setting(WORD_LIST_SETTING, saved)
    widgets.notify(
        ngettext(
            "The word list is saved ({n} word). New stories use it.",
            "The word list is saved ({n} words). New stories use it.",
            len(saved),
        )
    )
    st.rerun()
if right.button(_("Back to the default list"), key="wl_reset"):
    roles.require_teacher(settings, _("change the word list"))
    library.set_classroom_setting(WORD_LIST_SETTING, list(DEFAULT_BLOCKLIST))
    st.session_state.pop("wl_words", None)  # the box shows the default list again
    widgets.notify(_("The word list is back to the default list."))
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
    hits = WordList(parse_blocklist(text), language).hits(sample)
    if hits:
        st.warning(_("Stopped by: {words}", words=", ".join(hits)), icon=":material/block:")
    else:
        st.success(
            _("No listed word: this sentence would get its picture."), icon=":material/check:"
        )
