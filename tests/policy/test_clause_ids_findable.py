"""Every clause id of the guideline can be found by grep: it is written out in full where it is used, never built
from pieces (an f-string, `+`, `.format`, `%`)."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

import cds_service

PACKAGE = Path(cds_service.__file__).parent
POLICY_DATA = PACKAGE / "policy" / "data"
CLAUSE_IDS = [c["id"] for c in json.loads((POLICY_DATA / "clauses.json").read_text(encoding="utf-8"))["clauses"]]

_HOLE = "\x00"  # where a built string has a value that is not a literal
_ID_TOKEN = re.compile(r"[A-Za-z0-9.\-\x00]+")


def _sources() -> dict[Path, str]:
    return {p: p.read_text(encoding="utf-8") for p in sorted(PACKAGE.rglob("*.py"))}


def _policy_data() -> str:
    return "\n".join(
        p.read_text(encoding="utf-8") for p in sorted(POLICY_DATA.glob("*.json")) if p.name != "clauses.json"
    )


def _template(node: ast.AST) -> str | None:
    """The text a string-building expression makes, with a hole for every part that is not a literal; None when
    the node builds no string from pieces."""
    if isinstance(node, ast.JoinedStr):
        return "".join(
            v.value if isinstance(v, ast.Constant) and isinstance(v.value, str) else _HOLE for v in node.values
        )
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _part(node.left), _part(node.right)
        if left is not None and right is not None and _HOLE in left + right and left + right != _HOLE * 2:
            return left + right
    if (
        isinstance(node, ast.BinOp)
        and isinstance(node.op, ast.Mod)
        and isinstance(node.left, ast.Constant)
        and isinstance(node.left.value, str)
    ):
        return re.sub(r"%[-#0 +]*\d*(?:\.\d+)?[sdrfgi]", _HOLE, node.left.value)
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "format"
        and isinstance(node.func.value, ast.Constant)
        and isinstance(node.func.value.value, str)
    ):
        return re.sub(r"\{[^{}]*\}", _HOLE, node.func.value.value)
    return None


def _part(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant):
        return node.value if isinstance(node.value, str) else None
    built = _template(node)
    return built if built is not None else _HOLE


def _builds_a_clause_id(template: str) -> list[str]:
    """The clause ids a piece of the template could be, filling each hole with any id-like text: a token that joins
    a hole to literal text with a dot or a hyphen ("{prefix}.a", "table1.ra.2.{k}", "{pathway}.duration")."""
    out = []
    for token in _ID_TOKEN.findall(template):
        literal = token.replace(_HOLE, "")
        joined = re.search(r"\x00[.\-]|[.\-]\x00", token)
        if not joined or not re.search(r"[A-Za-z0-9]", literal):
            continue  # no hole joined by a dot or hyphen, or no literal piece of an id
        pattern = re.compile("".join(r"[A-Za-z0-9.\-]+" if ch == _HOLE else re.escape(ch) for ch in token))
        out += [cid for cid in CLAUSE_IDS if pattern.fullmatch(cid)]
    return out


def test_no_clause_id_is_built_from_pieces():
    built = []
    for path, text in _sources().items():
        for node in ast.walk(ast.parse(text, str(path))):
            template = _template(node)
            if template is not None and (ids := _builds_a_clause_id(template)):
                built.append(f"{path.relative_to(PACKAGE)}:{node.lineno} can build {sorted(set(ids))[:3]}")
    assert built == []


def test_the_check_finds_a_built_clause_id():
    """The scan above can fail: each way of building an id is seen."""
    for source in (
        'f"{prefix}.a"',
        'f"table1.ra.2.{letter}"',
        'pathway + ".duration"',
        '"%s.b" % prefix',
        '"{}.c".format(prefix)',
        'f"{pathway}.duration"',
        'cid + ".II"',
        '"table1." + key',
    ):
        node = ast.parse(source, mode="eval").body
        assert _builds_a_clause_id(_template(node)), source
    for source in ('f"{where}.note[{i}]"', 'f"{rtype}.{loc}: {msg}"', 'label + "."', 'f"{v:g} mg"', '"0" + a + b'):
        node = ast.parse(source, mode="eval").body
        assert not _builds_a_clause_id(_template(node) or ""), source


@pytest.mark.parametrize("clause_id", CLAUSE_IDS)
def test_every_clause_id_is_written_out_where_it_is_used(clause_id):
    quoted = re.compile(r"[\"']" + re.escape(clause_id) + r"[\"']")
    code = [p for p, text in _sources().items() if quoted.search(text)]
    assert code or quoted.search(_policy_data()), f"{clause_id} is not written out in the code or the policy data"
