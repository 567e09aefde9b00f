"""Stories told live: each sentence appears, and then its picture, while the teacher speaks.

    segmenter.py    Silero VAD fed as the audio arrives: speech cut at pauses (and run-ons)
    listener.py     each cut transcribed (the story so far as Whisper's prompt) into sentences
    recording.py    the narration written to disk chunk by chunk, a WAV readable at any moment
    session.py      LiveStory: audio in; frames, scenes, pictures and events out
    events.py       what screens are told (the teacher's page, a projector), in order
    finish.py       the story's hold while told, each sentence's scene, the end and crash recovery
    heard_again.py  the whole recording heard again at the end: re-timing and suggestions
    registry.py     this process's live stories, by token (the connection finds its story)

The browser side and its connection live in s2i_ui (live_routes.py, create/live.py).
"""

from .finish import hear_again, live_stories_to_recover, recover
from .heard_again import DONE, HEARING_AGAIN, LISTENING, LiveState, Suggestion
from .registry import LIVE, LiveStories
from .segmenter import Cut, PauseSegmenter, SegmenterOptions
from .session import LiveOptions, LiveStory, start_live_story

__all__ = [
    "DONE",
    "HEARING_AGAIN",
    "LISTENING",
    "LIVE",
    "Cut",
    "LiveOptions",
    "LiveState",
    "LiveStories",
    "LiveStory",
    "PauseSegmenter",
    "SegmenterOptions",
    "Suggestion",
    "hear_again",
    "live_stories_to_recover",
    "recover",
    "start_live_story",
]
