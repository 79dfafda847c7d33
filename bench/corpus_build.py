#!/usr/bin/env python3
"""Gathers a corpus for bench/corpus_walk.py from a Camunda 7 source repository (a bare mirror will
do): every .bpmn / .bpmn20.xml file of its HEAD (engine test resources, qa, examples, ...) and every
.dmn file (deployed only with the diagrams that name its decisions), written under --out with the
repository's paths, and manifest.json: for each diagram whether it carries code and what code,
and the files a test of the repository deploys with it (@Deployment(resources = {"...", "..."})).

Code is what the service must refuse: a script task, camunda:script, a connector, a Java class,
delegate expression or expression on an element or a listener (camunda:class, delegateExpression,
expression, variableMappingClass, ...), a form field validator, a condition in a script language, or
a method call in an expression (${bean.method()}).

    .venv/bin/python bench/corpus_build.py --repository /work/.mirror/camunda+camunda-bpm-platform/repo \\
        --out /work/corpus/files
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
from pathlib import Path
from xml.etree import ElementTree

CODE_NAMESPACES = ("{http://camunda.org/schema/1.0/bpmn}", "{http://operaton.org/schema/1.0/bpmn}",
                   "{http://activiti.org/bpmn}")
BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
METHOD_CALL = re.compile(r"[$#]\{[^}]*[\w)]\s*\.\s*\w+\s*\(")  # also ${dateTime().plusDays(2)}
CODE_ATTRIBUTES = ("class", "delegateExpression", "expression", "variableMappingClass",
                   "variableMappingDelegateExpression", "formHandlerClass")
LISTENERS = ("executionListener", "taskListener")  # their attributes carry no namespace
DIAGRAM = re.compile(r"\.bpmn(20\.xml)?$")
DECISION = re.compile(r"\.dmn(11\.xml)?$")


def code_in(data: bytes) -> list[str]:
    """What code a diagram carries, in words (empty: none; a file that is not XML carries none)."""
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError:
        return []
    found = set()
    for node in root.iter():
        if not isinstance(node.tag, str):
            continue
        space, _, local = node.tag.rpartition("}")
        if f"{space}}}" == BPMN and local == "scriptTask":
            found.add("script task")
        if f"{space}}}" in CODE_NAMESPACES and local in ("script", "connector"):
            found.add(f"camunda:{local}")
        if f"{space}}}" in CODE_NAMESPACES and local == "constraint" and node.get("name") == "validator":
            found.add("form field validator")
        if local in ("conditionExpression", "condition", "completionCondition") \
                and (node.get("language") or "juel").lower() not in ("juel", "${}"):
            found.add(f"{node.get('language')} script condition")
        for attribute in CODE_ATTRIBUTES:
            keys = [f"{namespace}{attribute}" for namespace in CODE_NAMESPACES]
            if any(node.get(key) for key in [*keys, *([attribute] if local in LISTENERS else [])]):
                found.add(f"{attribute} on {local}")
        if any(METHOD_CALL.search(text) for text in [node.text or "", *node.attrib.values()]):
            found.add("method call in an expression")
    return sorted(found)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repository", type=Path, required=True, help="the git directory of Camunda 7's sources")
    parser.add_argument("--out", type=Path, required=True, help="where the files and manifest.json go")
    args = parser.parse_args()
    git = ["git", f"--git-dir={args.repository}"]

    def show(path: str) -> bytes:
        return subprocess.run([*git, "show", f"HEAD:{path}"], capture_output=True, check=True).stdout

    names = subprocess.run([*git, "ls-tree", "-r", "--name-only", "HEAD"], capture_output=True, text=True,
                           check=True).stdout.splitlines()
    diagrams = [name for name in names if DIAGRAM.search(name)]
    decisions = [name for name in names if DECISION.search(name)]
    by_classpath = {name.split("/resources/", 1)[1]: name for name in diagrams + decisions if "/resources/" in name}
    groups = []
    tests = subprocess.run([*git, "grep", "-l", "@Deployment", "HEAD", "--", "*.java"], capture_output=True,
                           text=True).stdout.splitlines()
    for test in tests:
        text = show(test.split(":", 1)[1]).decode("utf-8", "replace")
        # resources named by the test class's constants: static final String DECISION_DMN = "org/...";
        constants = dict(re.findall(r'static\s+final\s+String\s+(\w+)\s*=\s*"([^"]+)"\s*;', text))
        for block in re.findall(r"@Deployment\s*\(\s*resources\s*=\s*\{(.*?)\}", text, re.S):
            named = re.findall(r'"([^"]+)"', block)
            named += [constants[c] for c in re.findall(r"\b([A-Z_][A-Z0-9_]*)\b", block) if c in constants]
            members = sorted({by_classpath[s] for s in named if s in by_classpath})
            if len(members) > 1:
                groups.append(members)
    manifest = []
    for name in diagrams + decisions:
        data = show(name)
        (args.out / name).parent.mkdir(parents=True, exist_ok=True)
        (args.out / name).write_bytes(data)
        if name in diagrams:
            code = code_in(data)
            together = sorted({member for group in groups if name in group for member in group} - {name})
            manifest.append({"file": name, "with_code": bool(code), "code": code, "deployed_with": together})
    (args.out / "manifest.json").write_text(json.dumps(manifest, indent=1))
    print(f"{len(diagrams)} diagrams ({sum(e['with_code'] for e in manifest)} with code), {len(decisions)} "
          f"decision files, {len(groups)} test deployments of several files")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
