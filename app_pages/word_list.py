"""Classroom word list (teacher): the words that stop a picture, on top of the school's list.

The school's list (s2i_core/wordlist/data) always applies: violence, weapons, gore, sexual
content, slurs and more, in nine languages, each word in every form and however it is written.
Here a teacher adds words, and lets through ones the school's list stops (``!word``). New stories
start with this list; each story keeps the one it was made with.
"""

import streamlit as st

from s2i_core.languages import LANGUAGE_NAMES, language_name
from s2i_core.wordlist import (
    SOURCE_NOTE,
    WORD_LIST_SETTING,
    WordList,
    classroom_words,
    parse_words,
    school_entries,
    school_languages,
)
from s2i_ui import resources, roles, widgets

KINDS = {"teacher": "your list"}  # else the school list's category: violence, weapons, ...

settings = resources.settings()
st.title("Classroom word list")
widgets.teacher_gate(settings, "change the word list")
library = resources.library(settings)

st.caption(
    "The school's list always applies: it stops violence, weapons, gore, sexual content, slurs, "
    "swearing and hard drugs in English, Spanish, French, German, Hindi, Chinese, Japanese, "
    "Portuguese and Arabic, in every form of each word (“kill” stops killed and killing) and "
    "however it is written (bl00d, b l o o d). A frame it stops says which word, and where. "
    "New stories start with the list below; each story keeps the one it was made with."
)
saved = classroom_words(library)
added = st.text_area(
    "Also stop these words (commas or new lines)",
    ", ".join(w for w in saved if not w.startswith("!")),
    height=110,
    key="wl_words",
    placeholder="dragon, ghost",
)
allowed = st.text_area(
    "Let these through, although the school's list stops them",
    ", ".join(w[1:] for w in saved if w.startswith("!")),
    height=70,
    key="wl_allow",
    placeholder="knife, shot dead",
    help="A word lets every phrase with it through; a phrase (“butter knife”) only that phrase.",
)
words = (*parse_words(added), *(f"!{w.lstrip('!')}" for w in parse_words(allowed)))
left, right = st.columns(2)
if left.button("Save the word list", type="primary", icon=":material/save:", key="wl_save"):
    roles.require_teacher(settings, "change the word list")
    library.set_classroom_setting(WORD_LIST_SETTING, list(words))
    widgets.notify(f"The word list is saved ({len(words)} words). New stories use it.")
    st.rerun()
if right.button("Only the school's list", key="wl_reset"):
    roles.require_teacher(settings, "change the word list")
    library.set_classroom_setting(WORD_LIST_SETTING, [])
    for box in ("wl_words", "wl_allow"):  # the boxes show the saved (empty) list again
        st.session_state.pop(box, None)
    widgets.notify("The word list is back to the school's list alone.")
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
    hits = WordList(words, language).find(sample, "sentence")
    if hits:
        found = ", ".join(
            f"{h.found} ({KINDS.get(h.entry.category, h.entry.category)})" for h in hits
        )
        st.warning(f"Stopped by: {found}", icon=":material/block:")
    else:
        st.success("No listed word: this sentence would get its picture.", icon=":material/check:")

with st.expander("The school's list", icon=":material/menu_book:"):
    entries = school_entries()
    code = st.selectbox(
        "Language", school_languages(), format_func=language_name, key="wl_school_lang"
    )
    shown = [e for e in entries if e.language == code]
    for category in dict.fromkeys(e.category for e in shown):
        listed = [("=" if e.exact else "") + e.text for e in shown if e.category == category]
        title = "Let through" if category == "allow" else category.capitalize()
        st.markdown(f"**{title}** ({len(listed)}): {', '.join(listed)}")
    st.markdown(SOURCE_NOTE.read_text(encoding="utf-8"))
