"""agreed meeting dates stay put; stages that may overlap their predecessor or never move; a process's date limits

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Every meeting stored before was moved with its stage: none counts as agreed until the secretariat says so
    # (or invites to it); every stage kept finish-to-start and moved; no process had limits. Plain ALTER TABLE,
    # no batch copy: stage, meeting and process are referenced by other tables (SQLite 3.35+ drops columns).
    op.add_column('meeting', sa.Column('agreed', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column('stage', sa.Column('overlap_days', sa.Integer(), nullable=False, server_default='0'))
    op.add_column('stage', sa.Column('fixed', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column('process', sa.Column('limits', sa.JSON(), nullable=False, server_default='[]'))


def downgrade() -> None:
    op.drop_column('process', 'limits')
    op.drop_column('stage', 'fixed')
    op.drop_column('stage', 'overlap_days')
    op.drop_column('meeting', 'agreed')
