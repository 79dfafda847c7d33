"""Whether a task list offers to start a process (camunda:isStartableInTasklist), as Camunda keeps it
on the definition: the versions deployed before are read once more from their files.

Revision ID: 0037
Revises: 0036
"""
import sqlalchemy as sa
from alembic import op
from lxml import etree

revision = "0037"
down_revision = "0036"
branch_labels = None
depends_on = None

_BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
# Where the service reads Camunda's extensions (README: Operaton's first, Activiti's last).
_EXTENSIONS = ("http://operaton.org/schema/1.0/bpmn", "http://camunda.org/schema/1.0/bpmn", "http://activiti.org/bpmn")
_DEFINITIONS = sa.table("process_definition", sa.column("id", sa.String), sa.column("key", sa.String),
                        sa.column("deployment_id", sa.String), sa.column("resource_name", sa.String),
                        sa.column("startable_in_tasklist", sa.Boolean))
_RESOURCES = sa.table("deployment_resource", sa.column("deployment_id", sa.String), sa.column("name", sa.String),
                      sa.column("content", sa.LargeBinary))


def _startable(content: bytes, key: str) -> bool:
    # Files were checked at deploy (no document type); still, nothing is fetched or expanded here.
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    root = etree.fromstring(content, parser)
    for process in root.iter(f"{{{_BPMN}}}process"):
        if process.get("id") == key:
            value = next((process.get(f"{{{namespace}}}isStartableInTasklist") for namespace in _EXTENSIONS
                          if process.get(f"{{{namespace}}}isStartableInTasklist") is not None), None)
            return value is None or value.lower() == "true"
    return True


def upgrade() -> None:
    with op.batch_alter_table("process_definition") as batch:
        batch.add_column(sa.Column("startable_in_tasklist", sa.Boolean(), nullable=False, server_default=sa.true()))
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(_DEFINITIONS.c.id, _DEFINITIONS.c.key, _RESOURCES.c.content).join(_RESOURCES, sa.and_(
            _RESOURCES.c.deployment_id == _DEFINITIONS.c.deployment_id,
            _RESOURCES.c.name == _DEFINITIONS.c.resource_name))).all()
    unstartable = [{"unstartable": definition_id} for definition_id, key, content in rows
                   if content and not _startable(bytes(content), key)]
    if unstartable:
        connection.execute(_DEFINITIONS.update().where(_DEFINITIONS.c.id == sa.bindparam("unstartable"))
                           .values(startable_in_tasklist=False), unstartable)


def downgrade() -> None:
    with op.batch_alter_table("process_definition") as batch:
        batch.drop_column("startable_in_tasklist")
