#!/usr/bin/env python3
"""Camunda 7 engine-rest coverage: which operations of Camunda's OpenAPI description the service answers.

    .venv/bin/python bench/camunda_coverage.py                      # the mirror's Camunda, as text
    .venv/bin/python bench/camunda_coverage.py SOURCE --commit REV  # another checkout or git directory
    .venv/bin/python bench/camunda_coverage.py --markdown           # the figures and lists as Markdown

Camunda describes its REST API as FreeMarker templates, one file per operation:
`engine-rest/engine-rest-openapi/src/main/templates/paths/<path>/<method>.ftl`, each with the
operation's `id` (operationId) and `tag` in its `<@lib.endpointInfo .../>`. SOURCE is that `paths`
directory, a checkout of Camunda holding it, or a (bare) git directory read at `--commit`
(default HEAD). `options.ftl` files describe the resources' OPTIONS answers (hypermedia), not
operations, and are left out.

The service's operations are the routes under /engine-rest of its FastAPI application, as its own
OpenAPI description lists them (the app is built on a throw-away SQLite file; nothing is started).
A path matches whatever its parameters are called: `/task/{id}/comment/{commentId}` is the
service's `/task/{task_id}/comment/{comment_id}`.
An operation counts as covered when the service has a route of its method and path; how completely
the route follows Camunda is for the tests to say.
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MIRROR = Path("/work/.mirror/camunda+camunda-bpm-platform/repo")
TEMPLATES = "engine-rest/engine-rest-openapi/src/main/templates/paths"
METHODS = ("get", "post", "put", "delete", "patch", "head")
PREFIX = "/engine-rest"
_PARAMETER = re.compile(r"\{[^}]*\}")
_ENDPOINT_INFO = re.compile(r"<@lib\.endpointInfo(.*?)/>", re.S)


@dataclass(frozen=True)
class Operation:
    method: str  # upper case
    path: str  # as Camunda writes it, without /engine-rest
    operation_id: str
    tag: str

    @property
    def key(self) -> tuple[str, str]:
        return self.method, normalise(self.path)


def normalise(path: str) -> str:
    """A path with every parameter written `{}`, without a trailing slash."""
    return _PARAMETER.sub("{}", path).rstrip("/") or "/"


def _attribute(block: str, name: str) -> str:
    found = re.search(rf'\b{name}\s*=\s*"([^"]*)"', block)
    if found is None:
        raise ValueError(f"no {name} in the endpoint description")
    return found.group(1)


def parse_template(relative: str, text: str) -> Operation | None:
    """The operation a template describes, from its path below `paths/`; None for OPTIONS."""
    folder, _, file_name = relative.rpartition("/")
    method = file_name.removesuffix(".ftl")
    if method not in METHODS:
        return None
    found = _ENDPOINT_INFO.search(text)
    if found is None:
        raise ValueError(f"{relative}: no <@lib.endpointInfo/>")
    return Operation(method.upper(), "/" + folder, _attribute(found.group(1), "id"), _attribute(found.group(1), "tag"))


def _templates_of_directory(paths: Path) -> Iterator[tuple[str, str]]:
    for file in sorted(paths.rglob("*.ftl")):
        yield file.relative_to(paths).as_posix(), file.read_text(encoding="utf-8")


def _templates_of_git(git_dir: Path, commit: str) -> Iterator[tuple[str, str]]:
    git = ["git", f"--git-dir={git_dir}"]
    names = subprocess.run([*git, "ls-tree", "-r", "--name-only", commit, f"{TEMPLATES}/"], check=True,
                           capture_output=True, text=True).stdout.split("\n")
    names = [name for name in names if name.endswith(".ftl")]
    # One git process for every file (cat-file --batch) instead of one each.
    request = "".join(f"{commit}:{name}\n" for name in names).encode()
    output = subprocess.run([*git, "cat-file", "--batch"], input=request, check=True, capture_output=True).stdout
    position = 0
    for name in names:
        header_end = output.index(b"\n", position)
        size = int(output[position:header_end].split()[2])
        yield name.removeprefix(f"{TEMPLATES}/"), output[header_end + 1:header_end + 1 + size].decode("utf-8")
        position = header_end + 1 + size + 1


def camunda_operations(source: Path, commit: str = "HEAD") -> list[Operation]:
    """Camunda's operations from a `paths` directory, a checkout, or a git directory."""
    if (source / "objects").is_dir() and (source / "HEAD").is_file():
        templates: Iterable[tuple[str, str]] = _templates_of_git(source, commit)
    elif (source / TEMPLATES).is_dir():
        templates = _templates_of_directory(source / TEMPLATES)
    elif source.is_dir():
        templates = _templates_of_directory(source)
    else:
        raise SystemExit(f"{source}: neither Camunda's templates, a checkout nor a git directory")
    operations = [operation for relative, text in templates
                  if (operation := parse_template(relative, text)) is not None]
    if not operations:
        raise SystemExit(f"{source}: no operation templates found")
    return operations


def service_routes() -> set[tuple[str, str]]:
    """(METHOD, normalised path) of each route the service answers under /engine-rest."""
    sys.path.insert(0, str(PROJECT_ROOT))
    from app.main import create_app
    from app.settings import Settings

    with tempfile.TemporaryDirectory() as directory:
        settings = Settings(database_url=f"sqlite:///{directory}/coverage.sqlite3", timer_worker=False)
        application = create_app(settings)
        # The application's own OpenAPI description lists every route, however routers are nested.
        paths = application.openapi()["paths"]
        application.state.services.db.dispose()
    return {(method.upper(), normalise(path.removeprefix(PREFIX)))
            for path, operations in paths.items() if path.startswith(PREFIX + "/")
            for method in operations if method in METHODS}


@dataclass(frozen=True)
class Coverage:
    operations: list[Operation]
    covered: set[Operation]
    # The service's routes Camunda does not describe (a misspelt path shows here).
    beyond: list[tuple[str, str]]

    def by_tag(self) -> dict[str, list[Operation]]:
        tags: dict[str, list[Operation]] = defaultdict(list)
        for operation in sorted(self.operations, key=lambda o: (o.tag, o.path, o.method)):
            tags[operation.tag].append(operation)
        return dict(sorted(tags.items()))


def coverage(operations: list[Operation], routes: set[tuple[str, str]]) -> Coverage:
    described = {operation.key for operation in operations}
    return Coverage(operations, {operation for operation in operations if operation.key in routes},
                    sorted(route for route in routes if route not in described))


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "-"


def as_text(result: Coverage) -> str:
    lines = []
    for tag, operations in result.by_tag().items():
        done = [o for o in operations if o in result.covered]
        lines.append(f"{tag:<42} {len(done):>3} / {len(operations):<3} {_percent(len(done), len(operations)):>4}")
    total = len(result.operations)
    lines.append(f"{'overall':<42} {len(result.covered):>3} / {total:<3} {_percent(len(result.covered), total):>4}")
    lines.append("")
    lines.append("missing:")
    for tag, operations in result.by_tag().items():
        for o in operations:
            if o not in result.covered:
                lines.append(f"  {tag}: {o.method} {o.path} ({o.operation_id})")
    lines.append("")
    lines.append("the service's, not Camunda's:")
    lines.extend(f"  {method} {path}" for method, path in result.beyond)
    return "\n".join(lines)


def as_markdown(result: Coverage) -> str:
    total = len(result.operations)
    lines = ["| resource (Camunda's tag) | covered | of | |", "|---|---:|---:|---:|"]
    for tag, operations in result.by_tag().items():
        done = sum(1 for o in operations if o in result.covered)
        lines.append(f"| {tag} | {done} | {len(operations)} | {_percent(done, len(operations))} |")
    lines.append(f"| **overall** | **{len(result.covered)}** | **{total}** | "
                 f"**{_percent(len(result.covered), total)}** |")
    lines.append("")
    for tag, operations in result.by_tag().items():
        done = [o for o in operations if o in result.covered]
        missing = [o for o in operations if o not in result.covered]
        lines.append(f"### {tag} ({len(done)} of {len(operations)})")
        lines.append("")
        for title, group in (("covered", done), ("missing", missing)):
            if group:
                listed = ", ".join(f"`{o.method} {o.path}`" for o in group)
                lines.append(f"- {title}: {listed}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", nargs="?", type=Path, default=MIRROR,
                        help="Camunda's templates/paths directory, a checkout, or a git directory "
                             "(default: the mirror)")
    parser.add_argument("--commit", default="HEAD", help="the commit read from a git directory")
    parser.add_argument("--markdown", action="store_true", help="print Markdown (the figures table and lists)")
    arguments = parser.parse_args(argv)
    result = coverage(camunda_operations(arguments.source, arguments.commit), service_routes())
    print(as_markdown(result) if arguments.markdown else as_text(result))


if __name__ == "__main__":
    main()
