"""citizen sign-in: identities from the bureau's identity service (OpenID Connect)

Revision ID: 0013_citizen_sign_in
Revises: 0012_votes_and_polls
Create Date: 2026-12-06 05:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013_citizen_sign_in'
down_revision = '0012_votes_and_polls'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('citizen_identities',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('issuer', sa.String(length=255), nullable=False),
    sa.Column('subject', sa.String(length=255), nullable=False),
    sa.Column('visitor_id', sa.String(length=64), nullable=False),
    sa.Column('display_name', sa.String(length=40), nullable=False),
    sa.Column('contact', sa.String(length=254), nullable=True),
    sa.Column('contact_kind', sa.Enum('PHONE', 'EMAIL', name='contactkind', native_enum=False, length=10), nullable=True),
    sa.Column('contact_agreed_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_signed_in_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_citizen_identities')),
    sa.UniqueConstraint('issuer', 'subject', name=op.f('uq_citizen_identities_issuer_subject')),
    sa.UniqueConstraint('visitor_id', name=op.f('uq_citizen_identities_visitor_id'))
    )
    with op.batch_alter_table('citizen_identities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_citizen_identities_last_signed_in_at'), ['last_signed_in_at'], unique=False)


def downgrade():
    with op.batch_alter_table('citizen_identities', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_citizen_identities_last_signed_in_at'))

    op.drop_table('citizen_identities')
