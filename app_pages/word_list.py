"""Classroom word list (teacher): the words that stop a picture, in every form, for new stories.

A listed word also stops its other forms ("kill": killed, kills, killing; "knife": knives), in
English and in the story's language. A frame it stops can be fixed by editing and redrawing.
"""

import streamlit as st

from s2i_core.exports import LANGUAGE_NAMES, language_name
from s2i_core.story.prompts import (
    DEFAULT_BLOCKLIST,
    WORD_LIST_SETTING,
    WordList,
    classroom_word_list,
    parse_blocklist,
)
from s2i_ui import resources, roles, widgets

settings = resources.settings()
st.title("Classroom word list")
widgets.teacher_gate(settings, "change the word list")
library = resources.library(settings)

st.caption(
    "A sentence, its English line or its scene containing one of these words gets no picture. "
    "Other forms count too: “kill” also stops killed, kills and killing; “knife” stops knives. "
    "New stories start with this list; each story keeps the list it was made with."
)
words = classroom_word_list(library)
text = st.text_area(
    "Words, separated by commas or new lines", ", ".join(words), height=160, key="wl_words"
)
left, right = st.columns(2)
if left.button("Save the word list", type="primary", icon=":material/save:", key="wl_save"):
    roles.require_teacher(settings, "change the word list")
    saved = list(parse_blocklist(text))
    library.set_classroom_setting(WORD_LIST_SETTING, saved)
    widgets.notify(f"The word list is saved ({len(saved)} words). New stories use it.")
    st.rerun()
if right.button("Back to the default list", key="wl_reset"):
    roles.require_teacher(settings, "change the word list")
    library.set_classroom_setting(WORD_LIST_SETTING, list(DEFAULT_BLOCKLIST))
    st.session_state.pop("wl_words", None)  # the box shows the default list again
    widgets.notify("The word list is back to the default list.")
    st.rerun()

st.subheader("Try a sentence")
sample = st.text_input("Sentence", placeholder="The pirates sharpened their knives.", key="wl_try")
codes = sorted(LANGUAGE_NAMES, key=language_name)
language = st.selectbox(
    "Language of the sentence",
    codes,
    index=codes.index("en"),
    format_func=language_name,
    key="wl_lang",
    help="Words count in every form in this language too (knives for knife).",
)
if sample.strip():
    hits = WordList(parse_blocklist(text), language).hits(sample)
    if hits:
        st.warning(f"Stopped by: {', '.join(hits)}", icon=":material/block:")
    else:
        st.success("No listed word: this sentence would get its picture.", icon=":material/check:")
