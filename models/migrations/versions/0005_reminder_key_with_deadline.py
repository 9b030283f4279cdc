"""the reminder key includes the deadline it was planned for, so an extended deadline is reminded of again

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""
from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('reminder', schema=None) as batch_op:
        batch_op.drop_constraint('uq_reminder_key', type_='unique')
        batch_op.create_unique_constraint('uq_reminder_key',
                                          ['stage_id', 'person_id', 'rule', 'occurrence', 'due_date_seen'])


def downgrade() -> None:
    # The old key cannot hold a reminder re-armed for a later deadline: of each key, the first row stays.
    op.execute("DELETE FROM reminder WHERE id NOT IN (SELECT MIN(id) FROM reminder "
               "GROUP BY stage_id, person_id, rule, occurrence)")
    with op.batch_alter_table('reminder', schema=None) as batch_op:
        batch_op.drop_constraint('uq_reminder_key', type_='unique')
        batch_op.create_unique_constraint('uq_reminder_key', ['stage_id', 'person_id', 'rule', 'occurrence'])
