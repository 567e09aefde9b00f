"""A story's character sheet: the pictures of its characters, kept like a frame's pictures.

Every picture a character ever got (drawn from its look, or a class's uploaded drawing) stays in
the sheet's history; one per character is ``chosen``, and frames naming that character are drawn
from it while the story's sheet is ``enabled``. A story without a row in ``character_sheets`` is
enabled.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Integer, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from .tables import Base, Story, now, story_not_found

SOURCES = ("drawn", "uploaded")


class CharacterPictureRow(Base):
    __tablename__ = "character_pictures"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"), index=True)
    character: Mapped[str] = mapped_column(Text)  # the name in the story bible
    attempt: Mapped[int] = mapped_column(Integer)  # this character's pictures, from 1
    source: Mapped[str] = mapped_column(String(16))  # drawn | uploaded
    image_path: Mapped[str] = mapped_column(Text)
    thumb_path: Mapped[str | None] = mapped_column(Text)
    prompt: Mapped[str] = mapped_column(Text, server_default="")  # as sent, for a drawn one
    model: Mapped[str] = mapped_column(Text, server_default="")  # the model that drew it
    seed: Mapped[int] = mapped_column(BigInteger, server_default="0")
    chosen: Mapped[bool] = mapped_column(Boolean, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CharacterSheetRow(Base):
    __tablename__ = "character_sheets"

    story_id: Mapped[int] = mapped_column(
        ForeignKey("stories.id", ondelete="CASCADE"), primary_key=True
    )
    enabled: Mapped[bool] = mapped_column(Boolean, server_default="1")


@dataclass(frozen=True)
class CharacterPicture:
    id: int
    character: str
    attempt: int
    source: str  # drawn | uploaded
    image_path: str  # relative to the data folder (Library.path)
    thumb_path: str | None
    prompt: str
    model: str
    seed: int
    chosen: bool
    created_at: datetime


@dataclass(frozen=True)
class CharacterSheet:
    """A story's character pictures, oldest first, and whether frames are drawn from them."""

    story_id: int
    enabled: bool = True
    pictures: tuple[CharacterPicture, ...] = ()

    def tries(self, character: str) -> list[CharacterPicture]:
        key = character.casefold()
        return [p for p in self.pictures if p.character.casefold() == key]

    def chosen(self, character: str) -> CharacterPicture | None:
        return next((p for p in self.tries(character) if p.chosen), None)

    @property
    def characters(self) -> list[str]:
        """The characters that have a chosen picture, in the order they got one."""
        return [p.character for p in self.pictures if p.chosen]


def _record(row: CharacterPictureRow) -> CharacterPicture:
    return CharacterPicture(
        row.id,
        row.character,
        row.attempt,
        row.source,
        row.image_path,
        row.thumb_path,
        row.prompt,
        row.model,
        row.seed,
        row.chosen,
        row.created_at,
    )


class CharacterMethods:
    """``Library``'s character sheet methods (``self`` is a Library)."""

    def character_sheet(self, story_id: int) -> CharacterSheet:
        with self._reading() as session:
            if session.get(Story, story_id) is None:
                raise story_not_found(story_id)
            sheet = session.get(CharacterSheetRow, story_id)
            rows = session.scalars(
                select(CharacterPictureRow)
                .where(CharacterPictureRow.story_id == story_id)
                .order_by(CharacterPictureRow.id)
            ).all()
            enabled = True if sheet is None else sheet.enabled
            return CharacterSheet(story_id, enabled, tuple(_record(r) for r in rows))

    def add_character_picture(
        self,
        story_id: int,
        character: str,
        image: bytes,
        thumbnail: bytes | None,
        source: str,
        prompt: str = "",
        model: str = "",
        seed: int = 0,
    ) -> CharacterPicture:
        """Keep a new picture of ``character`` and choose it; its earlier pictures stay."""
        if source not in SOURCES:
            raise ValueError(f"source must be one of {SOURCES}, not {source!r}")
        character = " ".join(character.split())
        if not character:
            raise ValueError("A character picture needs the character's name.")
        attempt = len(self.character_sheet(story_id).tries(character)) + 1
        slug = hashlib.sha1(character.casefold().encode()).hexdigest()[:10]  # names: ids only
        image_path = self.media.write(story_id, f"character-{slug}-{attempt}.png", image)
        thumb_path = None
        if thumbnail is not None:
            name = f"character-{slug}-{attempt}-thumb.png"
            thumb_path = self.media.write(story_id, name, thumbnail)
        with self._writing.begin() as session:
            if session.get(Story, story_id) is None:
                raise story_not_found(story_id)
            self._unchoose(session, story_id, character)
            row = CharacterPictureRow(
                story_id=story_id,
                character=character,
                attempt=attempt,
                source=source,
                image_path=image_path,
                thumb_path=thumb_path,
                prompt=prompt,
                model=model,
                seed=seed,
                chosen=True,
                created_at=now(),
            )
            session.add(row)
            session.flush()
            return _record(row)

    def choose_character_picture(self, picture_id: int) -> CharacterPicture:
        """Draw this picture's character from it (an earlier try, picked again)."""
        with self._writing.begin() as session:
            row = session.get(CharacterPictureRow, picture_id)
            if row is None:
                raise ValueError(f"There is no character picture {picture_id}.")
            self._unchoose(session, row.story_id, row.character)
            row.chosen = True
            return _record(row)

    def set_character_sheet(self, story_id: int, enabled: bool) -> None:
        """Whether this story's frames are drawn from its character pictures."""
        with self._writing.begin() as session:
            if session.get(Story, story_id) is None:
                raise story_not_found(story_id)
            sheet = session.get(CharacterSheetRow, story_id)
            if sheet is None:
                session.add(CharacterSheetRow(story_id=story_id, enabled=enabled))
            else:
                sheet.enabled = enabled

    @staticmethod
    def _unchoose(session, story_id: int, character: str) -> None:
        rows = session.scalars(
            select(CharacterPictureRow).where(
                CharacterPictureRow.story_id == story_id, CharacterPictureRow.chosen
            )
        )
        for other in rows:
            if other.character.casefold() == character.casefold():
                other.chosen = False
