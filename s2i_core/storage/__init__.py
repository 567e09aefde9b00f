"""The story library: stories and frames in SQLite (or PostgreSQL), pictures and audio on disk.

Callers only ever see the frozen dataclasses of ``records``, never ORM objects, so records can
cross threads and be cached. Every method runs one short transaction. Media live under
``<data_dir>/media/<story_id>/`` with names made from ids only; the database stores paths relative
to ``data_dir``. Files are written atomically (temporary file, fsync, rename) before the row that
points to them is committed, so a crash leaves at worst an unused file, never a row without a file.

The parts, by job:
  records.py        the dataclasses handed to callers, and the allowed statuses
  tables.py         the stories' and frames' tables, and the row rules the methods share
  database.py       the database engine (SQLite or PostgreSQL) and the schema upgrade (Alembic,
                    ../migrations)
  media.py          media files on disk, written atomically
  library.py        ``Library``: opening, stories and the library's searches
  search.py         the folded text those searches compare, kept in step on every write
  frames.py         ``Library``'s frame methods and crash recovery
  versions.py       versions of stories and frames, and saves that name the version they read
  claims.py         leases on frames and stories, so each frame is drawn once (``StoryHold``)
  request_slots.py  one request rate per API key across processes and replicas, in the database
  throttle.py       passcode guessing slowed down per browser and address, under an overall ceiling
  sessions.py       teacher sessions held on the server (unlock, sign-in, Lock, Lock everywhere)
  access.py         who sees and changes which story (``Viewer``), as Python and as SQL
  classes.py        class codes: a student's device opens one class's library
  quota.py          pictures per teacher per day
  health.py         whether a stored picture or narration can still be read
  job_table.py      the table of queued work (read and written by ``s2i_core.jobs.book``)
  characters.py     a story's character sheet: its characters' pictures, drawn or uploaded
"""

from ..errors import FrameNotFoundError, StorageError, StoryNotFoundError
from . import search  # noqa: F401 (registers the events that keep search_text in step)
from .access import ADMIN, EVERYONE, STUDENT, TEACHER, Viewer, can_edit, can_manage, can_see
from .characters import CharacterPicture, CharacterSheet
from .claims import DEFAULT_LEASE_S, StoryHold
from .classes import ClassBook
from .health import DamagedFile, damaged_files, narration_readable, picture_readable
from .job_table import Job
from .library import Library
from .records import (
    EDITABLE_STORY_FIELDS,
    FRAME_STATUSES,
    MAX_ID,
    STORY_STATUSES,
    FrameDraft,
    FrameRecord,
    StoryRecord,
    StorySummary,
    WordTime,
    parse_id,
)
from .request_slots import SharedRateLimiter
from .sessions import SessionBook, SessionRecord
from .tables import MIGRATIONS_DIR, Base, Frame, Story
from .throttle import PasscodeThrottle, Verdict
from .versions import FRAME_WORDS, STORY_DETAILS, SentenceEdits

__all__ = [
    "ADMIN",
    "DEFAULT_LEASE_S",
    "EDITABLE_STORY_FIELDS",
    "EVERYONE",
    "FRAME_STATUSES",
    "FRAME_WORDS",
    "MAX_ID",
    "MIGRATIONS_DIR",
    "STORY_DETAILS",
    "STORY_STATUSES",
    "STUDENT",
    "TEACHER",
    "Base",
    "CharacterPicture",
    "CharacterSheet",
    "ClassBook",
    "DamagedFile",
    "Frame",
    "FrameDraft",
    "FrameNotFoundError",
    "FrameRecord",
    "Job",
    "Library",
    "PasscodeThrottle",
    "SentenceEdits",
    "SessionBook",
    "SessionRecord",
    "SharedRateLimiter",
    "StorageError",
    "Story",
    "StoryHold",
    "StoryNotFoundError",
    "StoryRecord",
    "StorySummary",
    "Verdict",
    "Viewer",
    "WordTime",
    "can_edit",
    "can_manage",
    "can_see",
    "damaged_files",
    "narration_readable",
    "parse_id",
    "picture_readable",
]
