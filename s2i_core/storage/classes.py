"""Classes and their codes: a student's device opens one class's library with a 6-character code
(or the class link that carries it), and sees no other class.

A class is a class name as stories carry it ("Year 2 Robins"), school-wide: every teacher who
files stories under that name shares its code. The code is made the first time a teacher asks
for it; rotating it makes a new one, and the old code then opens nothing.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import DateTime, Engine, Integer, String, Text, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from .database import writer_of
from .records import now
from .tables import Base, Story

CODE_LENGTH = 6
CODE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud, typed on a tablet


class SchoolClass(Base):
    __tablename__ = "classes"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text, unique=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    code_made_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


def new_code() -> str:
    return "".join(secrets.choice(CODE_LETTERS) for _ in range(CODE_LENGTH))


def normal_code(typed: str) -> str:
    """What a student typed, as codes are kept: "ab3 k7q" → "AB3K7Q"."""
    return "".join(ch for ch in typed.upper() if ch.isalnum())[:16]


class ClassBook:
    def __init__(self, engine: Engine):
        self._engine = engine
        self._writer = writer_of(engine)

    def code_for(self, name: str) -> str:
        """The class's code, made on first use."""
        found = self._code(name)
        while found is None:
            try:
                with self._writer.begin() as connection:
                    connection.execute(
                        SchoolClass.__table__.insert().values(
                            name=name, code=new_code(), code_made_at=now()
                        )
                    )
            except IntegrityError:  # the same code drawn twice, or another process made it
                pass
            found = self._code(name)
        return found

    def rotate(self, name: str) -> str:
        """A new code for the class: the old one opens nothing from now on."""
        self.code_for(name)
        while True:
            code = new_code()
            try:
                with self._writer.begin() as connection:
                    connection.execute(
                        update(SchoolClass)
                        .where(SchoolClass.name == name)
                        .values(code=code, code_made_at=now())
                    )
                return code
            except IntegrityError:
                continue

    def class_of(self, code: str) -> str | None:
        """The class a code opens, or None."""
        typed = normal_code(code)
        if len(typed) != CODE_LENGTH:
            return None
        with self._engine.connect() as connection:
            return connection.scalar(select(SchoolClass.name).where(SchoolClass.code == typed))

    def names(self, owner: str | None = None) -> list[str]:
        """Class names of the library's stories (only ``owner``'s, when given), sorted."""
        statement = select(Story.class_name).where(Story.class_name != "")
        if owner is not None:
            statement = statement.where(Story.owner == owner)
        statement = statement.group_by(Story.class_name).order_by(func.lower(Story.class_name))
        with self._engine.connect() as connection:
            return list(connection.scalars(statement))

    def _code(self, name: str) -> str | None:
        with self._engine.connect() as connection:
            return connection.scalar(select(SchoolClass.code).where(SchoolClass.name == name))
