"""The docs point at things that exist: every test file docs/guarantees.md (or another page)
names as showing a guarantee is in the tree, and every link to a section of a page lands on
a heading of that page. Tests move when code does; a reader following a doc must not hit a
dead end."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]


def github_anchor(heading: str) -> str:
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def test_every_test_file_the_docs_name_exists():
    named = {(page.name, path) for page in PAGES for path in re.findall(r"`(tests/[\w/.-]+\.py)`", page.read_text())}
    assert len(named) > 20  # docs/guarantees.md names the tests behind each guarantee
    missing = sorted((page, path) for page, path in named if not (ROOT / path).is_file())
    assert missing == []


def test_every_link_to_a_section_lands_on_a_heading():
    broken = []
    for page in PAGES:
        for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
            path, _, anchor = target.partition("#")
            if not anchor or target.startswith(("http://", "https://")):
                continue
            linked = (page.parent / path).resolve() if path else page
            if not linked.is_file():
                continue  # a link to a whole page; that page's own tests say what it holds
            headings = {github_anchor(h) for h in re.findall(r"^#+ (.+)$", linked.read_text(), re.M)}
            if anchor not in headings:
                broken.append(f"{page.name}: {target}")
    assert broken == []
