"""The narration kept for replay is sound only: a phone video's picture track never reaches the
students, old narrations with video are fixed when the library is opened, and of several sound
tracks the default one (else the first with sound) is transcribed."""

from __future__ import annotations

import io
from pathlib import Path

import av
import numpy as np
import pytest
from alembic import command

from s2i_core.audio import decode_audio, narration_for_replay
from s2i_core.errors import NoSpeechError
from s2i_core.settings import Settings
from s2i_core.storage import Library
from s2i_core.story.narration import transcribe_narration
from tests.storage.test_migrations import alembic_config

FIXTURES = Path(__file__).parent / "fixtures"
STORY_WAV = FIXTURES / "en_story.wav"


def phone_video(wav: Path = STORY_WAV) -> bytes:
    """What a phone records: MP4 with an H.264 picture track and the AAC sound."""
    buffer = io.BytesIO()
    with av.open(str(wav)) as source, av.open(buffer, "w", format="mp4") as out:
        video = out.add_stream("libx264", rate=10)
        video.width, video.height, video.pix_fmt = 320, 240, "yuv420p"
        sound = out.add_stream("aac", rate=16000, layout="mono")
        seconds = float(source.duration / av.time_base)
        for i in range(int(seconds * 10)):
            picture = np.random.default_rng(i).integers(0, 255, (240, 320, 3), dtype=np.uint8)
            for packet in video.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")):
                out.mux(packet)
        for packet in video.encode(None):
            out.mux(packet)
        for frame in source.decode(audio=0):
            frame.pts = None
            for packet in sound.encode(frame):
                out.mux(packet)
        for packet in sound.encode(None):
            out.mux(packet)
    return buffer.getvalue()


def two_tracks(wav: Path = STORY_WAV, speech: bool = True) -> bytes:
    """Two sound tracks: the first silent, the second (marked default) the narration."""
    buffer = io.BytesIO()
    with av.open(str(wav)) as source:
        frames = list(source.decode(audio=0))
    with av.open(buffer, "w", format="mp4") as out:
        room, teacher = (out.add_stream("aac", rate=16000, layout="mono") for _ in range(2))
        room.disposition = av.stream.Disposition(0)
        teacher.disposition = av.stream.Disposition.default
        for frame in frames:
            quiet = av.AudioFrame.from_ndarray(
                np.zeros_like(frame.to_ndarray()), format=frame.format.name, layout="mono"
            )
            quiet.sample_rate = frame.sample_rate
            for stream, this in ((room, quiet), (teacher, frame if speech else quiet)):
                this.pts = None
                for packet in stream.encode(this):
                    out.mux(packet)
        for stream in (room, teacher):
            for packet in stream.encode(None):
                out.mux(packet)
    return buffer.getvalue()


def stream_types(data: bytes) -> list[str]:
    with av.open(io.BytesIO(data)) as container:
        return [stream.type for stream in container.streams]


def test_a_phone_video_keeps_only_its_sound_for_the_replay(tmp_path):
    video = phone_video()
    assert stream_types(video) == ["video", "audio"]
    decoded = decode_audio(video, Settings(data_dir=tmp_path))
    sound, ext, mime = narration_for_replay(video, decoded)
    assert stream_types(sound) == ["audio"] and (ext, mime) == ("m4a", "audio/mp4")
    assert len(sound) < len(video) / 3
    again = decode_audio(sound, Settings(data_dir=tmp_path))
    assert abs(again.duration - decoded.duration) < 0.1  # the whole narration, copied not cut


def test_the_default_track_with_speech_is_transcribed(speech_engine, engine_settings):
    narration = transcribe_narration(two_tracks(), engine_settings, speech_engine)
    assert narration.decoded.track == 1
    assert "fox" in " ".join(s.text for s in narration.sentences).lower()
    assert stream_types(narration.replay_bytes) == ["audio"]


def test_all_silent_tracks_are_named_in_the_refusal(tmp_path):
    with pytest.raises(NoSpeechError, match=r"tried track 2 \(default\), track 1"):
        decode_audio(two_tracks(speech=False), Settings(data_dir=tmp_path))


def test_opening_the_library_turns_saved_videos_into_sound(tmp_path):
    settings = Settings(data_dir=tmp_path)
    with Library(settings) as library:  # as earlier versions saved it: the video, whole
        story = library.create_story("Phone", narration=phone_video(), narration_ext="mp4")
        kept = library.create_story("Sound", narration=STORY_WAV.read_bytes(), narration_ext="wav")
    command.downgrade(alembic_config(settings), "0006")
    with Library(settings) as library:
        fixed = library.get_story(story.id)
        assert fixed.narration_path.endswith("narration.m4a")
        assert stream_types(library.path(fixed.narration_path).read_bytes()) == ["audio"]
        assert not library.path(story.narration_path).exists()  # the video is gone
        same = library.get_story(kept.id)
        assert library.path(same.narration_path).read_bytes() == STORY_WAV.read_bytes()
