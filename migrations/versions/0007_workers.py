"""worker heartbeats, and each worker's open pages of a visit

Revision ID: 0007_workers
Revises: 0006_moderation_tools
Create Date: 2026-12-06 01:21:31

A visit's pages may be held by several worker processes (a reconnect lands on another one);
`visit_connections` says how many each holds, so that when one dies (kill -9, a crash) a
surviving worker takes exactly its pages off the visits it left open (qa_live/live/workers.py).
`visits` itself is not rebuilt, so its statistics triggers (0005) stay as they are.
"""
from alembic import op
import sqlalchemy as sa


revision = '0007_workers'
down_revision = '0006_moderation_tools'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'workers',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('host', sa.String(length=255), nullable=False),
        sa.Column('pid', sa.Integer(), nullable=False),
        sa.Column('started_at', sa.DateTime(), nullable=False),
        sa.Column('last_seen_at', sa.DateTime(), nullable=False),
        sa.Column('ended_at', sa.DateTime(), nullable=True),
        sa.Column('ended_how', sa.String(length=16), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_workers')),
    )
    op.create_table(
        'visit_connections',
        sa.Column('visit_id', sa.Integer(), nullable=False),
        sa.Column('worker_id', sa.String(length=32), nullable=False),
        sa.Column('connections', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['visit_id'], ['visits.id'],
                                name=op.f('fk_visit_connections_visit_id_visits'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['worker_id'], ['workers.id'],
                                name=op.f('fk_visit_connections_worker_id_workers'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('visit_id', 'worker_id', name=op.f('pk_visit_connections')),
    )
    op.create_index('ix_visit_connections_worker', 'visit_connections', ['worker_id'],
                    unique=False)


def downgrade():
    op.drop_index('ix_visit_connections_worker', table_name='visit_connections')
    op.drop_table('visit_connections')
    op.drop_table('workers')
