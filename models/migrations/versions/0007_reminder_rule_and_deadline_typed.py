"""a reminder's rule is one of the ReminderRule values and the deadline it was planned for is a DATE, not text

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import sqlmodel.sql.sqltypes


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

RULE = sa.Enum('stage_started', 'before', 'overdue', 'escalation', 'digest', name='reminderrule',
               native_enum=False, length=32)
TEXT = sqlmodel.sql.sqltypes.AutoString()


def _retype(due_type: sa.types.TypeEngine, using: str, rule_type: sa.types.TypeEngine,
            old_rule_type: sa.types.TypeEngine) -> None:
    """SQLite keeps a date as its ISO text already, so only the declared type changes there; batch mode would
    copy the column through CAST(... AS DATE), which turns '2025-03-31' into 2025. The new declaration is given
    as the reflected one instead (reflect_args), and the text is copied as it is. PostgreSQL converts in place."""
    sqlite = op.get_bind().dialect.name == 'sqlite'
    reflect = (sa.Column('due_date_seen', due_type, nullable=False),) if sqlite else ()
    with op.batch_alter_table('reminder', schema=None, reflect_args=reflect) as batch_op:
        batch_op.alter_column('rule', existing_type=old_rule_type, type_=rule_type, existing_nullable=False)
        if not sqlite:
            batch_op.alter_column('due_date_seen', type_=due_type, existing_nullable=False,
                                  postgresql_using=using)


def upgrade() -> None:
    # No row is known to lack its deadline (every writer sets it), but the column allowed '': such a row was
    # planned for its stage's deadline, the only one it can have been.
    op.execute("UPDATE reminder SET due_date_seen = (SELECT CAST(stage.due_date AS VARCHAR) FROM stage "
               "WHERE stage.id = reminder.stage_id) WHERE due_date_seen = ''")
    _retype(sa.Date(), 'due_date_seen::date', RULE, TEXT)


def downgrade() -> None:
    _retype(TEXT, "to_char(due_date_seen, 'YYYY-MM-DD')", TEXT, RULE)
