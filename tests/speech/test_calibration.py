"""How Whisper spreads over the CPU's cores: the layouts tried, the fastest one chosen, and the
choice measured once per machine and data folder. Timings come from a fake clock, so these tests
say the same on any machine, however busy."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from s2i_core.errors import SpeechModelError
from s2i_core.settings import Settings
from s2i_core.speech import calibration
from s2i_core.speech.calibration import (
    Layout,
    cached_layout,
    candidate_layouts,
    choose_layout,
)

KEY = {"cpu": "Test CPU", "cores": 2, "model": "base", "compute_type": "int8"}


class FakeClock:
    """A clock that only moves when a trial says how long it took."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def layouts(*names: str) -> list[Layout]:
    return [Layout.parse(name) for name in names]


def test_every_candidate_keeps_every_core_busy():
    assert candidate_layouts(1) == layouts("1x1")
    assert candidate_layouts(2) == layouts("2x1", "1x2")
    assert candidate_layouts(6) == layouts("6x1", "3x2", "1x6")
    # never more than MAX_WORKERS windows at once (a replica of the model each)
    assert candidate_layouts(16) == layouts("8x2", "4x4", "2x8", "1x16")


def test_the_fastest_layout_is_chosen_with_the_candidates_timed_in_turns():
    clock, ran = FakeClock(), []
    costs = {"2x1": [3.0, 1.0], "1x2": [1.5, 1.5]}  # 2x1 is slowed by a burst in its first round

    def prepare(layout: Layout):
        def trial() -> None:
            ran.append(str(layout))
            clock.now += costs[str(layout)][ran.count(str(layout)) - 1]

        return trial

    chosen, seconds = choose_layout(layouts("2x1", "1x2"), prepare, clock, rounds=2)
    assert chosen == Layout(2, 1)
    assert seconds == {"2x1": 1.0, "1x2": 1.5}  # each one's best round
    assert ran == ["2x1", "1x2", "2x1", "1x2"]


def test_a_single_candidate_is_not_timed():
    def prepare(layout: Layout):
        raise AssertionError("nothing to choose between")

    assert choose_layout(layouts("1x1"), prepare) == (Layout(1, 1), {})


def test_the_layout_is_measured_once_and_read_from_the_data_folder_afterwards(tmp_path):
    cache = tmp_path / "cache" / "asr-layout.json"
    measured = []

    def measure(answer: str):
        def run():
            measured.append(answer)
            return Layout.parse(answer), {answer: 1.0}

        return run

    assert cached_layout(cache, KEY, measure("1x2")) == Layout(1, 2)
    assert cached_layout(cache, KEY, measure("2x1")) == Layout(1, 2)  # read, not measured
    assert measured == ["1x2"]
    other_cpu = KEY | {"cpu": "Another CPU"}
    assert cached_layout(cache, other_cpu, measure("2x1")) == Layout(2, 1)
    assert measured == ["1x2", "2x1"]
    assert [entry["layout"] for entry in json.loads(cache.read_text()).values()] == ["1x2", "2x1"]


def test_a_damaged_answer_is_measured_again(tmp_path):
    cache = tmp_path / "asr-layout.json"
    cache.write_text("{not json")
    layout = cached_layout(cache, KEY, lambda: (Layout(2, 1), {}))
    assert layout == Layout(2, 1)
    assert cached_layout(cache, KEY, lambda: pytest.fail("measured twice")) == Layout(2, 1)


def test_engines_starting_together_measure_once(tmp_path):
    cache = tmp_path / "asr-layout.json"
    measured, answers = [], []

    def measure():
        measured.append(threading.current_thread().name)
        return Layout(2, 1), {"2x1": 1.0}

    def start():
        answers.append(cached_layout(cache, KEY, measure))

    threads = [threading.Thread(target=start, name=f"engine-{i}") for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert answers == [Layout(2, 1)] * 4
    assert len(measured) == 1


@pytest.mark.parametrize("text", ["2x1", " 4X2 ", "1x16"])
def test_a_layout_is_written_windows_x_threads(text):
    layout = Layout.parse(text)
    assert str(layout) == text.strip().lower()


@pytest.mark.parametrize("text", ["auto", "2", "0x1", "9x1", "2x0", "twoxone", ""])
def test_a_layout_that_cannot_be_used_names_the_setting(text):
    with pytest.raises(SpeechModelError, match="S2I_ASR_THREADS"):
        Layout.parse(text)


def test_the_setting_picks_the_layout_without_measuring(tmp_path, monkeypatch):
    from s2i_core.speech import faster_whisper_engine

    monkeypatch.setenv("S2I_ASR_THREADS", "1x2")
    monkeypatch.setattr(faster_whisper_engine, "choose_layout", _never_measure)
    settings = Settings.load(data_dir=tmp_path)
    assert faster_whisper_engine.cpu_layout(settings, "model") == Layout(1, 2)
    assert not (settings.cache_dir / "asr-layout.json").exists()


def test_auto_measures_on_first_start_and_keeps_the_answer_in_the_data_folder(
    tmp_path, monkeypatch
):
    from s2i_core.speech import faster_whisper_engine

    measured = []

    def fake_choose(candidates, trial):
        measured.append(candidates)
        return candidates[-1], {str(c): 1.0 for c in candidates}

    monkeypatch.setattr(faster_whisper_engine, "choose_layout", fake_choose)
    monkeypatch.setattr(calibration, "usable_cores", lambda: 2)
    monkeypatch.setattr(faster_whisper_engine, "usable_cores", lambda: 2)
    settings = Settings(data_dir=tmp_path, asr_threads="auto")
    model_folder = str(tmp_path)  # never loaded: the trial is not run
    assert faster_whisper_engine.cpu_layout(settings, model_folder) == Layout(1, 2)
    assert faster_whisper_engine.cpu_layout(settings, model_folder) == Layout(1, 2)
    assert measured == [layouts("2x1", "1x2")]
    saved = json.loads((Path(tmp_path) / "cache" / "asr-layout.json").read_text())
    assert [entry["key"]["cores"] for entry in saved.values()] == [2]


def _never_measure(*args, **kwargs):
    raise AssertionError("a layout given in the settings is not measured")
