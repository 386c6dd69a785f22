"""The documentation: examples that match the service, links that resolve, a README that stays a front door.

The examples between `<!-- example: NAME -->` and `<!-- /example -->` are regenerated in memory from the
service's real answers (clock pinned, placeholders for uuids and random ids) and compared with the documents.
When this fails after a change that moves an answer, run `python scripts/readme_examples.py` and review the diff.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
README_MAX_BYTES = 10_240


def _load_generator():
    spec = importlib.util.spec_from_file_location("readme_examples", ROOT / "scripts" / "readme_examples.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


generator = _load_generator()


def _documents() -> list[Path]:
    return [README, *sorted(DOCS.glob("*.md"))]


@pytest.fixture(scope="module")
def examples() -> dict[str, str]:
    return generator.render_examples()


@pytest.mark.parametrize("path", _documents(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_example_matches_what_the_service_answers(path, examples):
    text = path.read_text()
    unknown = [n for n in generator.example_names(text) if n not in examples]
    assert not unknown, f"{path.name}: no generator for example(s) {unknown}"
    expected = generator.update_text(text, examples)
    if expected != text:
        stale = [
            n
            for n in generator.example_names(text)
            if generator.update_text(f"<!-- example: {n} -->\nX<!-- /example -->", examples) not in text
        ]
        pytest.fail(
            f"{path.relative_to(ROOT)}: example(s) {stale} no longer match the service; "
            "run `python scripts/readme_examples.py` and review the difference"
        )


def test_every_example_is_shown_somewhere(examples):
    used = {n for p in _documents() for n in generator.example_names(p.read_text())}
    assert set(examples) <= used, f"generated but shown nowhere: {sorted(set(examples) - used)}"


def test_a_changed_answer_is_caught(examples):
    """The comparison can fail: a document whose example differs by one character is not left as it is."""
    text = README.read_text()
    name = generator.example_names(text)[0]
    tampered = text.replace(examples[name], examples[name].replace("not-covered", "covered", 1), 1)
    assert tampered != text
    assert generator.update_text(tampered, examples) == text


def test_examples_hide_what_varies_per_call(examples):
    for name, text in examples.items():
        assert not generator.UUID.search(text), name
        assert not generator.RANDOM_ID.search(text), name


def test_readme_is_a_front_door():
    size = len(README.read_bytes())
    assert size <= README_MAX_BYTES, f"README.md is {size} bytes (at most {README_MAX_BYTES})"


LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.DOTALL | re.MULTILINE)


def _links(path: Path) -> list[str]:
    return LINK.findall(FENCE.sub("", path.read_text()))


def _anchors(path: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered."""
    seen: dict[str, int] = {}
    anchors = set()
    for line in FENCE.sub("", path.read_text()).splitlines():
        m = re.match(r"#{1,6} (.+)", line)
        if not m:
            continue
        slug = re.sub(r"[^\w\- ]", "", m.group(1).strip().lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        anchors.add(slug if n == 0 else f"{slug}-{n}")
    return anchors


def test_every_docs_page_is_linked_from_the_readme():
    linked = {
        (README.parent / link.split("#")[0]).resolve() for link in _links(README) if not re.match(r"[a-z]+:", link)
    }
    missing = [p.name for p in sorted(DOCS.glob("*.md")) if p.resolve() not in linked]
    assert not missing, f"docs pages not linked from README.md: {missing}"


@pytest.mark.parametrize("path", _documents(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(path):
    broken = []
    for link in _links(path):
        if re.match(r"[a-z][a-z0-9+.-]*:", link):  # http:, https:, mailto: ...
            continue
        target, _, anchor = link.partition("#")
        file = (path.parent / target).resolve() if target else path
        if not file.exists() or (anchor and file.suffix == ".md" and anchor not in _anchors(file)):
            broken.append(link)
    assert not broken, f"{path.relative_to(ROOT)}: broken links {broken}"


def test_the_link_check_can_fail(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# Title\n\n[ok](#title) [gone](#nowhere) [file](missing.md)\n")
    links = _links(page)
    assert links == ["#title", "#nowhere", "missing.md"]
    assert _anchors(page) == {"title"}
