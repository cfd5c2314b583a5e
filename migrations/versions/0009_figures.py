"""figures as of a date, supplementary answers (补录), rating history, imports of past years

Revision ID: 0009_figures
Revises: 0005_stats_cache
Create Date: 2026-12-06 01:26:03.000739

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009_figures'
down_revision = '0005_stats_cache'
branch_labels = None
depends_on = None

# Columns are added and dropped with plain ALTER TABLE, never SQLite's batch rebuild, which
# would drop the statistics triggers of migration 0005 on answers.


def _drop_column(table, column):
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    else:
        op.drop_column(table, column)


def upgrade():
    op.create_table('rating_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rating_id', sa.Integer(), nullable=False),
    sa.Column('old_value', sa.Enum('SATISFIED', 'BASIC', 'UNSATISFIED', name='ratingvalue', native_enum=False, length=12), nullable=False),
    sa.Column('new_value', sa.Enum('SATISFIED', 'BASIC', 'UNSATISFIED', name='ratingvalue', native_enum=False, length=12), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['rating_id'], ['ratings.id'], name=op.f('fk_rating_changes_rating_id_ratings'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rating_changes'))
    )
    op.create_index('ix_rating_changes_rating_at', 'rating_changes', ['rating_id', 'at'], unique=False)
    op.add_column('answers', sa.Column('given_at', sa.DateTime(), nullable=True))
    op.add_column('stats_sessions', sa.Column('settled_at', sa.DateTime(), nullable=True))
    op.add_column('live_sessions', sa.Column('participants_given', sa.Boolean(), server_default='0', nullable=False))
    op.create_table('session_imports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('imported_at', sa.DateTime(), nullable=False),
    sa.Column('sessions', sa.Integer(), nullable=False),
    sa.Column('questions', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_session_imports_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_session_imports')),
    sa.UniqueConstraint('sha256', name=op.f('uq_session_imports_sha256'))
    )
    op.create_table('imported_sessions',
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=False),
    sa.Column('external_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['import_id'], ['session_imports.id'], name=op.f('fk_imported_sessions_import_id_session_imports'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['session_id'], ['live_sessions.id'], name=op.f('fk_imported_sessions_session_id_live_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('session_id', name=op.f('pk_imported_sessions')),
    sa.UniqueConstraint('external_id', name=op.f('uq_imported_sessions_external_id'))
    )
    op.create_index(op.f('ix_imported_sessions_import_id'), 'imported_sessions', ['import_id'], unique=False)
    # Stored figures are a cache: thrown away so every session is counted again with the time
    # its rows settled (needed for figures as of a date).
    for table in ("stats_waits", "stats_groups", "stats_sessions", "stats_periods"):
        op.execute(f"DELETE FROM {table}")


def downgrade():
    op.drop_index(op.f('ix_imported_sessions_import_id'), table_name='imported_sessions')
    op.drop_table('imported_sessions')
    op.drop_table('session_imports')
    _drop_column('live_sessions', 'participants_given')
    _drop_column('stats_sessions', 'settled_at')
    _drop_column('answers', 'given_at')
    op.drop_index('ix_rating_changes_rating_at', table_name='rating_changes')
    op.drop_table('rating_changes')
