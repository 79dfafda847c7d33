"""A process definition's category and description, and a decision definition's category, as Camunda
keeps them: the file's namespace (`targetNamespace`, a DMN file's `namespace`) and the process's
documentation. The versions deployed before are read once more from their files.

Revision ID: 0039
Revises: 0038
"""
import sqlalchemy as sa
from alembic import op
from lxml import etree

revision = "0039"
down_revision = "0038"
branch_labels = None
depends_on = None

_BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
# As the definition tables keep them; a longer namespace was not refused before, and is left out.
_LONGEST_CATEGORY = 255
_RESOURCES = sa.table("deployment_resource", sa.column("deployment_id", sa.String), sa.column("name", sa.String),
                      sa.column("content", sa.LargeBinary))


def _definitions(name: str, *described: str) -> sa.TableClause:
    return sa.table(name, sa.column("id", sa.String), sa.column("key", sa.String), sa.column("deployment_id", sa.String),
                    sa.column("resource_name", sa.String), sa.column("category", sa.String),
                    *(sa.column(column, sa.Text) for column in described))


def _root(content: bytes) -> etree._Element:
    # Files were checked at deploy (no document type); still, nothing is fetched or expanded here.
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    return etree.fromstring(content, parser)


def _category(value: str | None) -> str | None:
    return value if value is not None and len(value) <= _LONGEST_CATEGORY else None


def _description(root: etree._Element, key: str) -> str | None:
    """The process's documentation as Camunda joins it: each text trimmed, a blank line between."""
    for process in root.iter(f"{{{_BPMN}}}process"):
        if process.get("id") == key:
            texts = [(doc.text or "").strip() for doc in process.findall(f"{{{_BPMN}}}documentation")]
            if not texts:
                return None
            joined = ""
            for each in texts:
                joined += ("\n\n" if joined else "") + each
            return joined
    return None


def _rows(connection: sa.Connection, table: sa.TableClause) -> list[sa.Row]:
    return connection.execute(
        sa.select(table.c.id, table.c.key, _RESOURCES.c.content).join(_RESOURCES, sa.and_(
            _RESOURCES.c.deployment_id == table.c.deployment_id,
            _RESOURCES.c.name == table.c.resource_name))).all()


def upgrade() -> None:
    with op.batch_alter_table("process_definition") as batch:
        batch.add_column(sa.Column("category", sa.String(255), nullable=True))
        batch.add_column(sa.Column("description", sa.Text(), nullable=True))
    with op.batch_alter_table("decision_definition") as batch:
        batch.add_column(sa.Column("category", sa.String(255), nullable=True))
    connection = op.get_bind()
    processes = _definitions("process_definition", "description")
    for definition_id, key, content in _rows(connection, processes):
        if content:
            root = _root(bytes(content))
            connection.execute(processes.update().where(processes.c.id == definition_id).values(
                category=_category(root.get("targetNamespace")), description=_description(root, key)))
    decisions = _definitions("decision_definition")
    for definition_id, _, content in _rows(connection, decisions):
        if content:
            connection.execute(decisions.update().where(decisions.c.id == definition_id).values(
                category=_category(_root(bytes(content)).get("namespace"))))


def downgrade() -> None:
    with op.batch_alter_table("decision_definition") as batch:
        batch.drop_column("category")
    with op.batch_alter_table("process_definition") as batch:
        batch.drop_column("description")
        batch.drop_column("category")
