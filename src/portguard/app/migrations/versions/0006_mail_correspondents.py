"""mail: known correspondents

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 08:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import portguard.core.db

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mail_correspondents",
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("first_seen", portguard.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen", portguard.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("delivered", sa.Integer(), nullable=False),
        sa.Column("reported", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("address"),
    )


def downgrade() -> None:
    op.drop_table("mail_correspondents")
