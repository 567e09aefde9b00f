"""The live stories of this process, by an unguessable token: the page that starts one hands the
token to the browser, whose connection (and any projector) finds the story by it."""

from __future__ import annotations

import secrets
import threading
import time

from .session import LiveStory

KEEP_FINISHED_S = 3600.0  # a finished story's screens may still ask for its events this long


class LiveStories:
    def __init__(self) -> None:
        self._stories: dict[str, tuple[LiveStory, float]] = {}
        self._lock = threading.Lock()

    def add(self, story: LiveStory) -> str:
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._forget_old()
            self._stories[token] = (story, time.monotonic())
        return token

    def get(self, token: str) -> LiveStory | None:
        with self._lock:
            found = self._stories.get(token)
        return found[0] if found else None

    def of_story(self, story_id: int) -> tuple[str, LiveStory] | None:
        with self._lock:
            for token, (story, _) in self._stories.items():
                if story.story_id == story_id:
                    return token, story
        return None

    def _forget_old(self) -> None:
        moment = time.monotonic()
        for token, (story, added) in list(self._stories.items()):
            if story.finished.is_set() and moment - added > KEEP_FINISHED_S:
                del self._stories[token]


LIVE = LiveStories()  # one per process: the WebSocket route and the pages share it
