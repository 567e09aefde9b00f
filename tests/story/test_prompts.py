"""Prompts built to a budget (scene, looks, setting, style) and the word list that knows forms."""

import pytest

from s2i_core.pictures import CLIP_TOKENS
from s2i_core.story.bible import Character, StoryBible, notes_bible
from s2i_core.story.prompts import (
    DEFAULT_BLOCKLIST,
    DEFAULT_STYLE,
    STYLES,
    blocked_reason,
    build_prompt,
    clip_tokens,
    get_style,
    parse_blocklist,
    prompt_budget,
)

SDXL, SD3, FLUX = (
    "stabilityai/stable-diffusion-xl",
    "stabilityai/stable-diffusion-3-medium",
    "black-forest-labs/flux.1-dev",
)
BIBLE = StoryBible(
    (
        Character("Rosa", "a small red fox with a green scarf"),
        Character("Tom", "a tiny green turtle with a yellow hat"),
    ),
    "a snowy forest in winter",
)
SCENE = "Rosa the fox hands a red balloon to a lost duckling by the frozen pond"


def test_clip_tokens_are_counted_like_clip_counts_them():
    # CLIP's own example ("A person riding a motorcycle" -> 320 2533 6765 320 10297)
    assert clip_tokens("A person riding a motorcycle") == 5
    assert clip_tokens("") == 0


def test_prompt_is_scene_then_named_looks_then_setting_then_style():
    prompt = build_prompt(SCENE, "crayon", BIBLE)
    order = [SCENE, "Rosa, a small red fox", "a snowy forest", "crayon drawing"]
    positions = [prompt.index(part) for part in order]
    assert positions == sorted(positions)
    assert "turtle" not in prompt  # Tom is not in this scene, so neither is his look


def test_each_frame_gets_the_looks_of_the_characters_its_scene_names():
    both = build_prompt("Rosa and Tom share an apple", "clay", BIBLE)
    assert "a small red fox" in both and "tiny green turtle" in both
    assert "red fox" not in build_prompt("Tom sleeps under a leaf", "clay", BIBLE)


def long_notes(length: int) -> str:
    """Teacher's notes of about ``length`` characters: a long look, then a long setting."""
    look = "Rosa is a small red fox with a green scarf, shiny black boots and a wicker basket. "
    places = " ".join(f"Path {n} of the snowy forest passes {n} tall pines." for n in range(200))
    return (look + "The story happens in a snowy forest. " + places)[:length]


@pytest.mark.parametrize("model", [SDXL, SD3])
@pytest.mark.parametrize("length", [400, 2000])
def test_long_notes_never_push_the_scene_or_the_style_out_of_clips_77_tokens(model, length):
    prompt = build_prompt(SCENE, "storybook", notes_bible(long_notes(length)), model)
    assert clip_tokens(prompt) <= CLIP_TOKENS == 75  # 77 with the start and end markers
    assert prompt.startswith(SCENE)
    assert "children's storybook illustration" in prompt
    assert "small red fox" in prompt  # the look still gets its share
    assert "snowy forest" in prompt  # and so does the setting


@pytest.mark.parametrize("length", [400, 2000])
def test_flux_gets_a_larger_budget_and_so_more_of_the_notes(length):
    bible = notes_bible(long_notes(length))
    sdxl = build_prompt(SCENE, "comic", bible, SDXL)
    flux = build_prompt(SCENE, "comic", bible, FLUX)
    assert prompt_budget(FLUX) > prompt_budget(SDXL)
    assert clip_tokens(sdxl) < clip_tokens(flux) <= prompt_budget(FLUX)
    assert flux.startswith(SCENE) and STYLES["comic"].prompt in flux


def test_a_scene_longer_than_the_budget_is_cut_at_a_word_and_nothing_else_follows():
    scene = "Rosa " + "walks and walks through the deep white snow " * 20
    prompt = build_prompt(scene, "photo", BIBLE)
    assert clip_tokens(prompt) <= CLIP_TOKENS
    assert prompt.startswith("Rosa walks and walks") and " ".join(prompt.split()) == prompt


def test_unknown_style_falls_back_to_the_default():
    assert get_style("no-such-style") == STYLES[DEFAULT_STYLE]
    assert STYLES[DEFAULT_STYLE].prompt in build_prompt("A cat.", "no-such-style")


def test_whitespace_is_tidied():
    assert build_prompt("  A   cat\n sleeps. ", "photo").startswith("A cat sleeps. realistic")


def test_notes_become_characters_with_looks_and_a_setting():
    bible = notes_bible(
        "Rosie is a small red fox with a green scarf. Max, her friend, is a grey rabbit.\n"
        "The story happens in a snowy forest."
    )
    assert [c.name for c in bible.characters] == ["Rosie", "Max"]
    assert bible.characters[0].look == "Rosie is a small red fox with a green scarf"
    assert bible.setting == "The story happens in a snowy forest"


@pytest.mark.parametrize(
    ("text", "language", "listed"),
    [
        ("The pirate killed the parrot.", "en", "kill"),
        ("He kills flies; killing is bad.", "en", "kill"),
        ("Two guns lay on the table.", "en", "gun"),
        ("The cook sharpened his knives.", "en", "knife"),
        ("El pirata mató al loro.", "es", "matar"),
        ("Los piratas tienen pistolas.", "es", "pistola"),
        ("Der Pirat hat den Papagei getötet.", "de", "töten"),
        ("Sie haben viele Messern.", "de", "messer"),
        ("Le pirate a tué le perroquet.", "fr", "tuer"),
        ("Les pirates ont des couteaux.", "fr", "couteau"),
    ],
)
def test_the_word_list_stops_other_forms_of_a_listed_word(text, language, listed):
    words = (*DEFAULT_BLOCKLIST, "matar", "pistola", "töten", "messer", "tuer", "couteau")
    reason = blocked_reason(text, words, language)
    assert listed in reason and "word list" in reason


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("The knight had a shiny shield.", "en"),  # no substring matches
        ("Tu es mon ami.", "fr"),  # "tu" (you) is not a form of "tuer"
        ("Gunther skilled the knitting.", "en"),
    ],
)
def test_the_word_list_leaves_unrelated_words_alone(text, language):
    assert blocked_reason(text, (*DEFAULT_BLOCKLIST, "tuer"), language) == ""


def test_teacher_blocklist_is_parsed_from_commas_and_lines():
    words = parse_blocklist("dragon, ghost\nwitch ,, ")
    assert words == ("dragon", "ghost", "witch")
    assert "ghost" in blocked_reason("Two friendly ghosts waved.", words)
    assert blocked_reason("A friendly ghost waved.", ()) == ""
