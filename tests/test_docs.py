"""The documentation hangs together: every page is reachable, every relative link and cited path exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
CITED = re.compile(r"`((?:tests|tools|pytest_vbench|benchmarks|docs)/[\w./-]+\.(?:py|md|json))`")


def _links(page: Path) -> list[Path]:
    return [(page.parent / m).resolve() for m in LINK.findall(page.read_text(encoding="utf-8"))
            if "://" not in m and not m.startswith("mailto:")]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_links_and_cited_files_exist(page):
    text = page.read_text(encoding="utf-8")
    assert [str(p) for p in _links(page) if not p.exists()] == []
    assert [c for c in CITED.findall(text) if not (ROOT / c).exists() and "<" not in c] == []


def test_every_page_is_reachable_from_the_readme():
    seen, todo = set(), [ROOT / "README.md"]
    while todo:
        page = todo.pop()
        if page in seen or page.suffix != ".md" or not page.exists():
            continue
        seen.add(page)
        todo += _links(page)
    assert [str(p.relative_to(ROOT)) for p in PAGES if p.resolve() not in seen] == []


def test_getting_started_lists_the_fake_checkpoint_families():
    from pytest_vbench.fake_checkpoints import WRITERS

    text = (ROOT / "docs" / "getting-started.md").read_text(encoding="utf-8")
    listed = re.search(r"\(families: ([\w,\s]+)\)", text)
    assert listed, "docs/getting-started.md no longer lists the fake checkpoint families"
    assert [f.strip() for f in listed.group(1).split(",")] == list(WRITERS)
