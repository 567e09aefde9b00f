"""Who sees and changes which story: a ``Viewer`` and the rules, as Python and as SQL.

- An admin (and the classroom's own teacher, in passcode or single-user mode) sees and changes
  every story.
- A signed-in teacher sees and changes their own stories and those shared with the school; only
  the owner (or an admin) deletes a story or changes its sharing.
- A student sees the stories of the class their device opened with its class code, and never
  changes anything. Without a code a student sees every class in single-classroom mode (one
  passcode), and none in school mode (teachers sign in).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import false, or_, true

from .tables import Story

STUDENT, TEACHER, ADMIN = "student", "teacher", "admin"


@dataclass(frozen=True)
class Viewer:
    role: str = STUDENT  # student | teacher | admin
    user: str = ""  # the owner of what this teacher makes: an e-mail; "" the classroom's teacher
    class_name: str | None = None  # the class a student's device opened with its code
    every_class: bool = False  # a student without a code sees every class (one classroom)
    signed_in_as: str = ""  # the school account, teacher or not ("" when nobody signed in)
    note: str = ""  # why a signed-in account is not a teacher now (the page says it)

    @property
    def teacher(self) -> bool:
        return self.role in (TEACHER, ADMIN)

    @property
    def admin(self) -> bool:
        return self.role == ADMIN


EVERYONE = Viewer(ADMIN)  # single-user mode, the CLI and the workers


def can_see(viewer: Viewer, story: Any) -> bool:
    if viewer.admin:
        return True
    if viewer.teacher:
        return story.owner == viewer.user or bool(story.shared)
    if viewer.class_name is not None:
        return story.class_name == viewer.class_name
    return viewer.every_class


def can_edit(viewer: Viewer, story: Any) -> bool:
    return viewer.teacher and can_see(viewer, story)


def can_manage(viewer: Viewer, story: Any) -> bool:
    """Delete the story, or change whether it is shared with the school."""
    return viewer.admin or (viewer.teacher and story.owner == viewer.user)


def story_filter(viewer: Viewer | None) -> Any:
    """The stories ``viewer`` may see, as a condition on ``Story`` (None: every story)."""
    if viewer is None or viewer.admin:
        return true()
    if viewer.teacher:
        return or_(Story.owner == viewer.user, Story.shared.is_(True))
    if viewer.class_name is not None:
        return Story.class_name == viewer.class_name
    return true() if viewer.every_class else false()


def patterns(listed: str) -> list[str]:
    """``S2I_TEACHERS`` / ``S2I_ADMINS``: "*@school.example, head@other.example" → patterns."""
    return [p.strip().lower() for p in listed.replace(";", ",").split(",") if p.strip()]


def first_admin(settings: Any) -> str:
    """The first address ``S2I_ADMINS`` names (a pattern names nobody): owner of old stories."""
    named = [p for p in patterns(getattr(settings, "admins", "")) if "*" not in p and "?" not in p]
    return named[0] if named else ""
