"""Classroom word list (teacher): the words that stop a picture, in every form, for new stories.

A listed word also stops its other forms ("kill": killed, kills, killing; "knife": knives), in
English and in the story's language. A frame it stops can be fixed by editing and redrawing.
"""

import streamlit as st

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
    library.set_classroom_setting(WORD_LIST_SETTING, list(parse_blocklist(text)))
    st.success("Saved. New stories use this list.", icon=":material/check:")
if right.button("Back to the default list", key="wl_reset"):
    roles.require_teacher(settings, "change the word list")
    library.set_classroom_setting(WORD_LIST_SETTING, list(DEFAULT_BLOCKLIST))
    st.rerun()

st.subheader("Try a sentence")
sample = st.text_input("Sentence", placeholder="The pirates sharpened their knives.", key="wl_try")
language = st.text_input("Language code", "en", max_chars=8, key="wl_lang")
if sample.strip():
    hits = WordList(parse_blocklist(text), language.strip() or "en").hits(sample)
    if hits:
        st.warning(f"Stopped by: {', '.join(hits)}", icon=":material/block:")
    else:
        st.success("No listed word: this sentence would get its picture.", icon=":material/check:")
