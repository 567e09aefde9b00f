"""Several narrations in one batch (issue 26, one GPU for a school), run on the CPU.

The batched engine's CPU path decodes exactly what its GPU path does, eagerly in fp32: each
narration must read as it reads transcribed alone, a narration that cannot be heard must fail
alone, and a job cancelled while it waits for its batch must leave the batch to the others.
"""

from __future__ import annotations

import re
import threading
import wave

import numpy as np
import pytest

from s2i_core.audio import SAMPLE_RATE, decode_audio
from s2i_core.errors import AudioError
from s2i_core.jobs import Transcribe
from s2i_core.jobs.registry import run_job
from s2i_core.jobs.runtime import Runtime
from s2i_core.jobs.worker import DEFAULT_THREADS, jobs_at_once
from s2i_core.settings import Settings
from s2i_core.speech import DecodingOptions
from s2i_core.speech.batch import Narration
from s2i_core.speech.gathering import GatheringEngine, gathering
from s2i_core.speech.many import transcribe_many
from s2i_core.speech.torch_batched_engine import BatchedTorchEngine, BatchOptions
from s2i_core.storage import Library
from s2i_core.story.drafts import StoryOptions, start_story
from tests.waiting import wait_for

HANG_GUARD_S = 600.0  # never a measurement: only how long a broken batch may hang the test
# Whisper base decoding on the CPU, a dozen windows in all: a shared 2-core machine can take long
pytestmark = pytest.mark.timeout(1800)


@pytest.fixture(scope="module")
def batched(engine_settings) -> BatchedTorchEngine:
    # greedy, to spare the shared CPU: batching is the same for beams (rows of one window)
    return BatchedTorchEngine(
        "base",
        cache_dir=engine_settings.cache_dir,
        device="cpu",
        options=DecodingOptions(beam_size=1),
        batch=BatchOptions(max_windows=2),  # three windows take two rounds
    )


@pytest.fixture(scope="module")
def clip(engine_settings, fixtures_dir):
    def samples(name: str) -> np.ndarray:
        if name == "two_windows":  # a pause longer than Whisper's silence limit ends a window
            pause = np.zeros(int(2.5 * SAMPLE_RATE), dtype=np.float32)
            return np.concatenate([samples("es_story"), pause, samples("es_story")])
        return decode_audio(fixtures_dir / f"{name}.wav", engine_settings).samples

    return samples


@pytest.fixture(scope="module")
def alone(batched, clip):
    """Each narration transcribed on its own, as a single job would."""
    cache: dict[tuple[str, str | None], tuple] = {}

    def heard(name: str, language: str | None = None):
        if (name, language) not in cache:
            segments, info = batched.transcribe(clip(name), language=language)
            cache[name, language] = (list(segments), info)
        return cache[name, language]

    return heard


def reads_as_alone(result, expected) -> None:
    segments, info = result
    want_segments, want_info = expected
    segments = list(segments)
    assert [s.text for s in segments] == [s.text for s in want_segments]
    assert info.language == want_info.language
    assert info.duration == pytest.approx(want_info.duration)
    got = [(w.word, w.start, w.end) for s in segments for w in s.words]
    want = [(w.word, w.start, w.end) for s in want_segments for w in s.words]
    assert [w for w, _, _ in got] == [w for w, _, _ in want]
    # the same windows and tokens; word times from the same attention, to the hundredth
    assert np.allclose([g[1:] for g in got], [w[1:] for w in want], atol=0.021)


def test_narrations_decoded_together_read_as_each_decoded_alone(batched, clip, alone):
    # two languages (two decoder batches), one cut at a pause, two told in one breath
    names = ["es_story", "two_windows", "de_story"]
    heard = transcribe_many(batched, [Narration(clip(name)) for name in names])
    for name, result in zip(names, heard, strict=True):
        assert result.error is None
        reads_as_alone(result.unwrap(), alone(name))
    assert batched.last_batch["narrations"] == 3
    assert batched.last_batch["windows"] == 4


def test_a_narration_that_cannot_be_heard_fails_alone(batched, clip, alone):
    broken = clip("es_story").copy()
    broken[1000:2000] = np.nan
    narrations = [
        Narration(clip("de_story")),
        Narration(broken),
        Narration(np.zeros((2, SAMPLE_RATE), dtype=np.float32)),
        Narration(np.zeros(0, dtype=np.float32)),
        Narration(np.zeros(3 * SAMPLE_RATE, dtype=np.float32)),  # silence: heard, no words
    ]
    heard = transcribe_many(batched, narrations)
    reads_as_alone(heard[0].unwrap(), alone("de_story"))
    for bad in heard[1:4]:
        assert isinstance(bad.error, AudioError)
        with pytest.raises(AudioError, match=r"recording|channel"):
            bad.unwrap()
    segments, info = heard[4].unwrap()
    assert list(segments) == [] and info.duration == pytest.approx(3.0)


def test_jobs_asking_at_once_share_one_batch_and_each_gets_its_own(batched, clip, alone):
    gatherer = GatheringEngine(batched, size=2, linger=HANG_GUARD_S)  # runs once 2 are waiting
    names = ["es_story", "de_story"]
    results: dict[str, tuple] = {}

    def job(name: str) -> None:
        segments, info = gatherer.transcribe(clip(name))
        results[name] = (list(segments), info)

    threads = [threading.Thread(target=job, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(HANG_GUARD_S)
    assert gatherer.batches == [2]
    for name in names:
        reads_as_alone(results[name], alone(name))
    assert (gatherer.name, gatherer.device) == ("torch-batched", "cpu")  # the rest: the engine's


def test_a_job_cancelled_while_waiting_leaves_the_batch_to_the_others(batched, clip, alone):
    gatherer = GatheringEngine(batched, size=2, linger=HANG_GUARD_S)  # runs once 2 are waiting
    cancelled = threading.Event()
    cancelled.set()  # the teacher pressed Cancel before the batch ran
    withdrawn = gatherer.submit(Narration(clip("es_story")), cancelled)
    kept = [gatherer.submit(Narration(clip(name))) for name in ("es_story", "de_story")]
    for ticket in (withdrawn, *kept):
        assert ticket.done.wait(HANG_GUARD_S)
    assert withdrawn.heard is None and withdrawn.batch == 0
    assert gatherer.batches == [2]
    reads_as_alone(kept[0].heard.unwrap(), alone("es_story"))
    reads_as_alone(kept[1].heard.unwrap(), alone("de_story"))


def test_only_a_batching_engine_with_a_batch_size_is_gathered(batched, speech_engine):
    assert gathering(batched, 1) is batched
    assert gathering(speech_engine, 8) is speech_engine  # faster-whisper: one at a time
    assert isinstance(gathering(batched, 8), GatheringEngine)
    assert gathering(batched, 8) is gathering(batched, 8)  # one gatherer per engine


# --- the speech worker's jobs ----------------------------------------------------------------
def words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def test_transcription_jobs_share_a_batch_and_each_ends_on_its_own(
    tmp_path, batched, alone, fixtures_dir
):
    settings = Settings(data_dir=tmp_path, work_lease_s=3.0, speech_batch=2)  # renewed each 1 s
    library = Library(settings)
    gatherer = GatheringEngine(batched, size=2, linger=HANG_GUARD_S)  # runs once 2 are waiting
    runtime = Runtime(settings, library=library, engine=lambda: gatherer, retried_by_queue=False)
    book = runtime.book
    hum = tmp_path / "hum.wav"  # a steady tone: sound, so it is stored, but no speech in it
    tone = 0.1 * np.sin(2 * np.pi * 120 * np.arange(3 * SAMPLE_RATE) / SAMPLE_RATE)
    with wave.open(str(hum), "wb") as out:
        out.setnchannels(1), out.setsampwidth(2), out.setframerate(SAMPLE_RATE)
        out.writeframes((tone * 32767).astype("<i2").tobytes())
    sources = {
        "es_story": fixtures_dir / "es_story.wav",
        "hum": hum,
        "cancelled": fixtures_dir / "es_story.wav",
    }
    stories = {
        name: start_story(library, settings, path, StoryOptions(title=name)).id
        for name, path in sources.items()
    }
    jobs = {name: book.create(Transcribe(story)).id for name, story in stories.items()}
    ended: dict[str, str] = {}

    def run(name: str) -> threading.Thread:
        thread = threading.Thread(target=lambda: ended.update({name: run_job(runtime, jobs[name])}))
        thread.start()
        return thread

    # a job waiting for its batch, cancelled by the teacher: it leaves, and nothing ran
    waiting = run("cancelled")
    wait_for(lambda: gatherer.waiting == 1, "the first job asking for its batch", HANG_GUARD_S)
    book.cancel_job(jobs["cancelled"])
    waiting.join(HANG_GUARD_S)
    assert ended["cancelled"] == "cancelled" and gatherer.batches == []

    for thread in [run(name) for name in ("es_story", "hum")]:
        thread.join(HANG_GUARD_S)
    assert gatherer.batches == [2]
    assert ended == {"cancelled": "cancelled", "es_story": "done", "hum": "failed"}
    story = library.get_story(stories["es_story"])  # it reads as its narration heard alone
    assert words(story.transcript) == words(" ".join(s.text for s in alone("es_story")[0]))
    assert story.frames and not story.sentences_missing
    assert "words" in book.get(jobs["hum"]).error  # the hum's job alone failed: no words heard
    assert library.get_story(stories["hum"]).frames == []


def test_the_speech_worker_takes_a_batch_of_jobs_only_on_the_batched_engine(tmp_path):
    batched_gpu = Settings(data_dir=tmp_path, asr_engine="torch-batched", speech_batch=30)
    assert jobs_at_once(batched_gpu, "speech") == 30
    assert jobs_at_once(batched_gpu, "pictures") == DEFAULT_THREADS["pictures"]
    one_by_one = batched_gpu.with_changes(asr_engine="faster-whisper")
    assert jobs_at_once(one_by_one, "speech") == 1
    assert Settings().speech_batch == 1  # one at a time unless a school asks for batches
