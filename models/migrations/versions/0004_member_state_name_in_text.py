"""a member State's name as it reads inside a sentence ("the Russian Federation")

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import sqlmodel.sql.sqltypes


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('member_state', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name_in_text', sqlmodel.sql.sqltypes.AutoString(), nullable=False,
                                      server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('member_state', schema=None) as batch_op:
        batch_op.drop_column('name_in_text')
