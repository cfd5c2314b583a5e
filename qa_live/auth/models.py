"""Staff accounts, their roles and the departments (处室) they work in."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Column, ForeignKey, String, Table, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from qa_live.core.timeutil import UTCDateTime, utcnow
from qa_live.extensions import Model, db


class Role(enum.StrEnum):
    """What a staff member may do. A user holds one or more roles."""

    OFFICE = "office"  # 局办公室: plans the year, manages staff, reads statistics
    HOST = "host"  # 主持人: runs a session, moderates, posts policy explanations
    ANSWERER = "answerer"  # 值班人员/嘉宾: answers questions for their departments
    EDITOR = "editor"  # 文字编辑: types a guest's spoken answer and publishes it in their name
    REVIEWER = "reviewer"  # 审核: approves answers and posts of a reviewed session
    DIRECTOR = "director"  # 导播: decides what the room's projector shows
    PLANNER = "planner"  # 处室计划员: drafts sessions of their own departments for approval


class Department(Model):
    """A department (处室) of the bureau."""

    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    short_name: Mapped[str] = mapped_column(String(20), default="")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<Department {self.id} {self.name}>"


user_departments = Table(
    "user_departments",
    db.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("department_id", ForeignKey("departments.id", ondelete="CASCADE"), primary_key=True),
)


class UserRole(Model):
    """One role held by one user."""

    __tablename__ = "user_roles"
    __table_args__ = (UniqueConstraint("user_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[Role] = mapped_column(db.Enum(Role, native_enum=False, length=20))


class User(UserMixin, Model):
    """A staff account. Citizens never have one."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    login: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(default=True)
    # Changes whenever the password is reset or the account deactivated, so old sessions end.
    session_epoch: Mapped[int] = mapped_column(default=0)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    role_rows: Mapped[list[UserRole]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )
    departments: Mapped[list[Department]] = relationship(
        secondary=user_departments, lazy="selectin", order_by=Department.name
    )

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    def get_id(self) -> str:
        """Identify the user and the password generation in the session cookie."""
        return f"{self.id}:{self.session_epoch}"

    @property
    def roles(self) -> set[Role]:
        """The roles this user holds."""
        return {row.role for row in self.role_rows}

    def has_role(self, *roles: Role | str) -> bool:
        """Tell whether the user holds any of the given roles."""
        held = self.roles
        return any(Role(r) in held for r in roles)

    def set_roles(self, roles: set[Role]) -> None:
        """Replace the user's roles."""
        keep = [row for row in self.role_rows if row.role in roles]
        have = {row.role for row in keep}
        self.role_rows = keep + [UserRole(role=r) for r in sorted(roles - have)]

    def set_password(self, password: str) -> None:
        """Store a salted hash of the password (werkzeug's scrypt)."""
        self.password_hash = generate_password_hash(password, method="scrypt")

    def check_password(self, password: str) -> bool:
        """Tell whether the password matches."""
        return check_password_hash(self.password_hash, password)

    @property
    def department_ids(self) -> set[int]:
        """Ids of the departments the user belongs to."""
        return {d.id for d in self.departments}

    def __repr__(self) -> str:
        return f"<User {self.id} {self.login}>"


class ApiToken(Model):
    """A personal API token: it acts with its owner's roles until revoked."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    # Only a SHA-256 of the token is stored; the token itself is shown once, at creation.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(lazy="joined")
