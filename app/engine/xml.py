"""Parsing untrusted XML: no DTD, no entities, no network, bounded size."""
from __future__ import annotations

import re

from lxml import etree

from app.clock import LONGEST_HISTORY_TIME_TO_LIVE_DAYS
from app.errors import InvalidProcessModel

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
CAMUNDA_DMN_NS = "http://camunda.org/schema/1.0/dmn"
BPMN_PREFIXES = {"bpmn": BPMN_NS, "camunda": CAMUNDA_NS}

# Extension namespaces read as Camunda's, and whether theirs wins when an element carries both.
# Operaton, Camunda 7's fork, draws with its own namespace and reads it before Camunda's; Camunda 7
# reads Activiti's, which its diagrams inherited, only where its own is absent.
_READ_AS_CAMUNDA = (
    ("http://operaton.org/schema/1.0/bpmn", CAMUNDA_NS, True),
    ("http://operaton.org/schema/1.0/dmn", CAMUNDA_DMN_NS, True),
    ("http://activiti.org/bpmn", CAMUNDA_NS, False),
)

# BPMN and DMN never need a document type; refusing it outright stops entity expansion (billion
# laughs), external entities (XXE) and DTD fetches before the parser does any work.
_DOCTYPE = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=False,
    )


def parse_untrusted_xml(content: bytes, resource_name: str) -> etree._Element:
    head = content[:65536]
    if _DOCTYPE.search(head) or _DOCTYPE.search(content):
        raise InvalidProcessModel(
            f"{resource_name}: a document type declaration (DOCTYPE/ENTITY) is not allowed in a process file",
            details={"resource": resource_name, "element": None},
        )
    try:
        root = etree.fromstring(content, _parser())
    except etree.XMLSyntaxError as error:
        raise InvalidProcessModel(
            f"{resource_name}: not well-formed XML: {error.msg}",  # without lxml's "(<string>, line 1)"
            details={"resource": resource_name, "line": error.lineno},
        ) from None
    if root.getroottree().docinfo.doctype:  # type: ignore[union-attr]  # lxml-stubs' DocInfo lacks doctype; declared in an encoding the byte scan cannot read
        raise InvalidProcessModel(
            f"{resource_name}: a document type declaration (DOCTYPE/ENTITY) is not allowed in a process file",
            details={"resource": resource_name, "element": None},
        )
    _read_as_camunda(root)
    return root


def _read_as_camunda(root: etree._Element) -> None:
    """Move the elements and attributes of Operaton's and Activiti's namespaces into Camunda's, so
    that everything after reads (and refuses) one vocabulary."""
    aliases = [(f"{{{namespace}}}", f"{{{camunda}}}", wins) for namespace, camunda, wins in _READ_AS_CAMUNDA]
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        for alias, camunda, wins in aliases:
            if element.tag.startswith(alias):
                element.tag = camunda + element.tag[len(alias):]
            for name in [str(name) for name in element.attrib if str(name).startswith(alias)]:
                value = element.attrib.pop(name)
                target = camunda + name[len(alias):]
                if wins or element.get(target) is None:
                    element.set(target, value)


# The longest process, decision or decision requirements key: its definitions' ids,
# `{key}:{version}:{uuid}`, are kept in columns of 255 characters (version of up to 10 digits).
MAX_DEFINITION_KEY = 200
# The longest namespace of a file, which becomes its definitions' category (a column of 255).
MAX_CATEGORY = 255


def local_name(element: etree._Element) -> str:
    """An element's tag without its namespace ("" for a comment or processing instruction)."""
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def refuse_element(resource: str, element: etree._Element | None, reason: str) -> InvalidProcessModel:
    """The error that refuses a file, naming the resource, the element, its line and the reason."""
    element_id = element.get("id") if element is not None else None
    where = f" element '{element_id}'" if element_id else ""
    line = element.sourceline if element is not None else None
    return InvalidProcessModel(
        f"{resource}:{where} {reason}",
        details={"resource": resource, "element": element_id, "line": line, "reason": reason},
    )


# camunda:historyTimeToLive as Camunda reads it: a number of days, alone or as P<days>D, of at most
# the ten digits of Camunda's integer.
HISTORY_TIME_TO_LIVE = re.compile(r"(\d{1,10})|P(\d{1,10})D")


def history_time_to_live(resource: str, element: etree._Element, namespace: str = CAMUNDA_NS) -> int | None:
    """The element's camunda:historyTimeToLive in days (None when absent or not a number of days);
    more than a century is refused, naming the element."""
    ttl = (element.get(f"{{{namespace}}}historyTimeToLive") or "").strip()
    read = HISTORY_TIME_TO_LIVE.fullmatch(ttl)
    if read is None:
        return None
    days = int(read.group(1) or read.group(2))
    if days > LONGEST_HISTORY_TIME_TO_LIVE_DAYS:
        raise refuse_element(resource, element, f"camunda:historyTimeToLive {ttl} is more than "
                             f"{LONGEST_HISTORY_TIME_TO_LIVE_DAYS} days (100 years)")
    return days
