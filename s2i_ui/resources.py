"""Engine objects shared by every browser session of one app process (``st.cache_resource``).

Nothing heavy happens at import or on the Home page: the speech model loads on the first
transcription and then stays in memory; ``loaded_engine`` only reports one that is already there.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
from typing import TYPE_CHECKING

import streamlit as st

from s2i_core.settings import Settings

log = logging.getLogger("s2i_ui")

if TYPE_CHECKING:
    from s2i_core.speech import SpeechEngine
    from s2i_core.storage import Library


def settings() -> Settings:
    """Environment first, then ``.streamlit/secrets.toml``; read on every run (it is cheap)."""
    return Settings.load(secrets=_secrets())


def _secrets() -> dict:
    """The secrets.toml values as one dict. Without any such file, Streamlit would look for one
    again, under a lock, at every single lookup (a settings load makes dozens, a class's page
    runs thousands): two checks here instead."""
    if not any(os.path.exists(path) for path in _secrets_files()):
        return {}
    try:
        return st.secrets.to_dict()
    except Exception:  # a secrets.toml Streamlit cannot read: the settings' defaults apply
        return {}


def library(settings: Settings) -> Library:
    return _library(settings.db_url, str(settings.media_dir.resolve()), settings)


def loaded_engine(settings: Settings) -> SpeechEngine | None:
    """The speech model if a transcription already loaded it; never loads one."""
    from s2i_core.speech import loaded_engine

    return loaded_engine(settings)


def app_worker(settings: Settings) -> threading.Thread | None:
    """The worker inside this app process, started once, in the background (the first page does
    not wait for it): it serves the queues S2I_APP_WORKER names (all of them by default, so
    `make run` alone does everything); none for "none", when separate workers
    (`python -m s2i_core worker`) do the work and this process holds no speech model."""
    queues = settings.app_worker_queues  # a typo in the setting is named here, on every page
    key = (settings.queue_url, settings.db_url, str(settings.data_dir.resolve()))
    return _app_worker(*key, queues, settings) if queues else None


@functools.cache
def _secrets_files() -> tuple[str, ...]:
    """Where Streamlit looks for secrets.toml (a config option: read once, not under Streamlit's
    config lock at every page run and every file served)."""
    from streamlit import config

    return tuple(config.get_option("secrets.files"))


# Arguments starting with "_" are not hashed: the string arguments before them are the cache key.
@st.cache_resource(show_spinner=False)
def _library(db_url: str, media_dir: str, _settings: Settings) -> Library:
    from s2i_core.storage import Library

    library = Library(_settings)
    # once per process: stories a crash left "generating"; temporary files only when old enough
    # not to be another replica's picture in the middle of being written
    library.recover_interrupted(temp_older_than=2 * _settings.image_timeout)
    from s2i_core.live import recover

    recover(library, _settings)  # stories a crash left while told live: heard again, finished
    return library


@st.cache_resource(show_spinner=False)
def planned_engine(engine: str, device: str) -> tuple[str, str]:
    """(engine, device) that loading would pick on this machine: a cheap probe, no model."""
    from s2i_core.speech import choose_engine, device_label

    name, chosen = choose_engine(engine, device)
    return name, device_label(chosen)


@st.cache_resource(show_spinner=False)
def _app_worker(
    queue_url: str, db_url: str, data_dir: str, queues: tuple[str, ...], _settings: Settings
) -> threading.Thread:
    def start() -> None:
        from s2i_core.jobs.worker import WorkerPool

        try:
            WorkerPool(_settings, queues).start()
        except Exception:  # the queue is unreachable: pages say the jobs wait for a worker
            log.exception("the app's worker could not start")

    thread = threading.Thread(target=start, name="app-worker", daemon=True)
    thread.start()
    return thread
