from s2i_core.prompts import (
    DEFAULT_STYLE,
    STYLES,
    blocked_reason,
    build_prompt,
    get_style,
    parse_blocklist,
)


def test_prompt_puts_story_notes_first_then_scene_then_style():
    prompt = build_prompt("The fox jumps over the river.", "crayon", "Rosa, a red fox, in a forest")
    assert prompt.index("Rosa, a red fox") < prompt.index("The fox jumps") < prompt.index("crayon")


def test_every_frame_of_a_story_shares_the_same_notes_and_style():
    notes = "Tom the tiny turtle"
    prompts = [build_prompt(s, "clay", notes) for s in ("He wakes up.", "He eats a leaf.")]
    assert all(p.startswith(notes) and STYLES["clay"].prompt in p for p in prompts)


def test_unknown_style_falls_back_to_the_default():
    assert get_style("no-such-style") == STYLES[DEFAULT_STYLE]
    assert STYLES[DEFAULT_STYLE].prompt in build_prompt("A cat.", "no-such-style")


def test_prompt_is_bounded_and_whitespace_is_tidied():
    prompt = build_prompt("word " * 1000, "photo", "  lots   of\n spaces ")
    assert len(prompt) <= 900
    assert prompt.startswith("lots of spaces")


def test_blocklist_stops_whole_words_in_any_case_and_explains_why():
    reason = blocked_reason("Then the pirate pulled out a KNIFE.")
    assert "knife" in reason and "word list" in reason
    assert blocked_reason("The knight had a shiny shield.") == ""  # no substring matches


def test_teacher_blocklist_is_parsed_from_commas_and_lines():
    words = parse_blocklist("dragon, ghost\nwitch ,, ")
    assert words == ("dragon", "ghost", "witch")
    assert "ghost" in blocked_reason("A friendly ghost waved.", words)
    assert blocked_reason("A friendly ghost waved.", ()) == ""
