"""Member States and the people the tracker knows: focal points, secretariat, stakeholders, delegates."""

from __future__ import annotations

from sqlmodel import Field, SQLModel

from models.enums import Role
from models.types import enum_column


class MemberState(SQLModel, table=True):
    __tablename__ = "member_state"

    code: str = Field(primary_key=True, max_length=2, description="ISO 3166-1 alpha-2")
    name: str
    timezone: str = Field(description="IANA zone of the focal point's office by default")
    name_in_text: str = Field(
        default="",
        description="the name inside a sentence, with its article where it has "
        "one ('the Russian Federation'); empty: the name",
    )

    @property
    def in_text(self) -> str:
        return self.name_in_text or self.name


class Person(SQLModel, table=True):
    __tablename__ = "person"

    id: int | None = Field(default=None, primary_key=True)
    name: str
    email: str = Field(unique=True, index=True)
    role: Role = Field(sa_column=enum_column(Role))
    member_state_code: str | None = Field(default=None, foreign_key="member_state.code", index=True)
    timezone: str | None = None
    language: str | None = None
    active: bool = True
