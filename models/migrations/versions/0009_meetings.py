"""meetings as their own objects: kind, joining details (secret), agenda and documents links, the day held, and
per-State attendance

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import sqlmodel.sql.sqltypes
import models.types


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

KIND = sa.Enum('nfp_meeting', 'som', 'expert_group', 'consultation', name='meetingkind', native_enum=False,
               length=32)
ATTENDANCE = sa.Enum('registered', 'attended', 'apologies', name='attendance', native_enum=False, length=32)
TEXT = sqlmodel.sql.sqltypes.AutoString()


def upgrade() -> None:
    with op.batch_alter_table('meeting', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', KIND, nullable=False, server_default='consultation'))
        batch_op.add_column(sa.Column('online_link', TEXT, nullable=True))
        batch_op.add_column(sa.Column('dial_in', TEXT, nullable=True))
        batch_op.add_column(sa.Column('agenda_link', TEXT, nullable=True))
        batch_op.add_column(sa.Column('documents_link', TEXT, nullable=True))
        batch_op.add_column(sa.Column('held_on', sa.Date(), nullable=True))
    with op.batch_alter_table('meeting', schema=None) as batch_op:
        batch_op.alter_column('kind', server_default=None, existing_type=KIND, existing_nullable=False)
    op.create_table('meeting_attendance',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('member_state_code', TEXT, nullable=False),
    sa.Column('attendance', ATTENDANCE, nullable=False),
    sa.Column('recorded_by', TEXT, nullable=False),
    sa.Column('recorded_at', models.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], ),
    sa.ForeignKeyConstraint(['member_state_code'], ['member_state.code'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('meeting_id', 'member_state_code')
    )
    with op.batch_alter_table('meeting_attendance', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meeting_attendance_meeting_id'), ['meeting_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('meeting_attendance', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meeting_attendance_meeting_id'))
    op.drop_table('meeting_attendance')
    with op.batch_alter_table('meeting', schema=None) as batch_op:
        batch_op.drop_column('held_on')
        batch_op.drop_column('documents_link')
        batch_op.drop_column('agenda_link')
        batch_op.drop_column('dial_in')
        batch_op.drop_column('online_link')
        batch_op.drop_column('kind')
