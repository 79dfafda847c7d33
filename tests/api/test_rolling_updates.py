"""Rolling updates: version N and N+1 of the service run side by side on one database while the
replicas are replaced, so every migration only expands the schema (new tables, new nullable columns
or columns with a server default, new indexes) and the code of the version before keeps working on
it. A migration that contracts (drops or renames a table or column, or makes a column required
without a default) must say so with a module-level `CONTRACT`, naming the release since which no code
uses what it removes; it is deployed only after every replica runs that release (README, *Rolling
updates*)."""
from __future__ import annotations

import ast
from pathlib import Path

from tests.support.paths import ROOT

MIGRATIONS = sorted((ROOT / "migrations" / "versions").glob("*.py"))
# Written before the rule, when no two versions ran side by side: read, not changed.
BEFORE_THE_RULE = {f"{number:04d}" for number in range(1, 25)}
_CONTRACTING = {"drop_table", "drop_column", "rename_table"}


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((keyword.value for keyword in call.keywords if keyword.arg == name), None)


def _is_false(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is False


def contractions(path: Path) -> list[str]:
    """What the migration's upgrade does that code of the version before could trip over."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    upgrade = next(node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == "upgrade")
    found = []
    for call in (node for node in ast.walk(upgrade) if isinstance(node, ast.Call)):
        name = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
        if name in _CONTRACTING:
            found.append(f"{name} (line {call.lineno})")
        elif name == "alter_column" and (_keyword(call, "new_column_name") is not None
                                         or _is_false(_keyword(call, "nullable"))):
            found.append(f"alter_column renaming or requiring a column (line {call.lineno})")
        elif name == "add_column":
            column = next((arg for arg in call.args if isinstance(arg, ast.Call)), None)
            if column is not None and _is_false(_keyword(column, "nullable")) \
                    and _keyword(column, "server_default") is None:
                found.append(f"add_column of a required column without a server default (line {call.lineno})")
    return found


def _declares_contract(path: Path) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return any(isinstance(node, ast.Assign) and any(getattr(target, "id", "") == "CONTRACT" for target in node.targets)
               and isinstance(node.value, ast.Constant) and str(node.value.value).strip() for node in tree.body)


def test_every_migration_since_the_rule_expands_or_says_it_contracts():
    offending = {path.name: found for path in MIGRATIONS
                 if path.name.split("_")[3] not in BEFORE_THE_RULE
                 and (found := contractions(path)) and not _declares_contract(path)}
    assert offending == {}


def test_the_check_sees_each_kind_of_contraction(tmp_path):
    migration = tmp_path / "2027_01_01_9999_example.py"
    migration.write_text('''
def upgrade():
    op.drop_column("incident", "annotation")
    op.alter_column("account", "email", nullable=False)
    op.alter_column("account", "email", new_column_name="mail")
    op.add_column("incident", sa.Column("kind", sa.String(10), nullable=False))
    op.add_column("incident", sa.Column("kept", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column("incident", sa.Column("note", sa.Text()))
    op.create_index("ix_incident_kind", "incident", ["kind"])
''', encoding="utf-8")
    assert [entry.split(" (")[0] for entry in contractions(migration)] == [
        "drop_column", "alter_column renaming or requiring a column", "alter_column renaming or requiring a column",
        "add_column of a required column without a server default"]
    assert not _declares_contract(migration)
    migration.write_text(migration.read_text(encoding="utf-8") + '\nCONTRACT = "annotation unused since 2.3"\n',
                         encoding="utf-8")
    assert _declares_contract(migration)
