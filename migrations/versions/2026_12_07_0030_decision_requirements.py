"""Decision requirements definitions: a version of each deployed DMN file of several decisions, and
the link of its decisions to it (Camunda's decisionRequirementsDefinitionId/Key). The files deployed
before are read once to create theirs.

Revision ID: 0030
Revises: 0029
"""
import uuid

import sqlalchemy as sa
from alembic import op
from lxml import etree

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("decision_requirements_definition",
                    sa.Column("id", sa.String(255), primary_key=True),
                    sa.Column("key", sa.String(255), nullable=False),
                    sa.Column("version", sa.Integer(), nullable=False),
                    sa.Column("name", sa.String(255)),
                    sa.Column("category", sa.String(255)),
                    sa.Column("deployment_id", sa.String(36), sa.ForeignKey(
                        "deployment.id", name="fk_decision_requirements_definition_deployment_id_deployment"),
                              nullable=False),
                    sa.Column("resource_name", sa.String(255), nullable=False),
                    sa.Column("tenant_id", sa.String(64)),
                    sa.UniqueConstraint("key", "tenant_id", "version",
                                        name="uq_decision_requirements_definition_key"))
    op.create_index("ix_decision_requirements_definition_key", "decision_requirements_definition", ["key"])
    op.create_index("ix_decision_requirements_definition_deployment_id", "decision_requirements_definition",
                    ["deployment_id"])
    with op.batch_alter_table("decision_definition") as table:
        table.add_column(sa.Column("decision_requirements_definition_id", sa.String(255)))
        table.add_column(sa.Column("decision_requirements_definition_key", sa.String(255)))
    op.create_index("ix_decision_definition_decision_requirements_definition_id", "decision_definition",
                    ["decision_requirements_definition_id"])
    _link_deployed_files()


def _link_deployed_files() -> None:
    """The files were parsed when deployed; here only their definitions element and the number of
    decisions are read, in deployment order, which gives the versions."""
    connection = op.get_bind()
    files = connection.execute(sa.text(
        "SELECT DISTINCT d.deployment_id, d.resource_name, d.tenant_id, p.deployment_time, r.content "
        "FROM decision_definition d JOIN deployment p ON p.id = d.deployment_id "
        "JOIN deployment_resource r ON r.deployment_id = d.deployment_id AND r.name = d.resource_name "
        "ORDER BY p.deployment_time, d.deployment_id, d.resource_name")).all()
    versions: dict[tuple[str, str | None], int] = {}
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    for deployment_id, resource_name, tenant_id, _, content in files:
        root = etree.fromstring(bytes(content), parser)
        decisions = [node for node in root if etree.QName(node).localname == "decision"]
        key = root.get("id")
        if len(decisions) < 2 or not key:
            continue
        version = versions[(key, tenant_id)] = versions.get((key, tenant_id), 0) + 1
        drd_id = f"{key}:{version}:{uuid.uuid4()}"
        connection.execute(sa.text(
            "INSERT INTO decision_requirements_definition (id, key, version, name, category, deployment_id, "
            "resource_name, tenant_id) VALUES (:id, :key, :version, :name, :category, :deployment, :resource, "
            ":tenant)"), {"id": drd_id, "key": key, "version": version, "name": root.get("name"),
                          "category": root.get("namespace"), "deployment": deployment_id,
                          "resource": resource_name, "tenant": tenant_id})
        connection.execute(sa.text(
            "UPDATE decision_definition SET decision_requirements_definition_id = :id, "
            "decision_requirements_definition_key = :key WHERE deployment_id = :deployment "
            "AND resource_name = :resource"), {"id": drd_id, "key": key, "deployment": deployment_id,
                                               "resource": resource_name})


def downgrade() -> None:
    op.drop_index("ix_decision_definition_decision_requirements_definition_id", table_name="decision_definition")
    with op.batch_alter_table("decision_definition") as table:
        table.drop_column("decision_requirements_definition_key")
        table.drop_column("decision_requirements_definition_id")
    op.drop_table("decision_requirements_definition")
