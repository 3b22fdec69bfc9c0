"""The knowledge_versions table on both databases: of owners saving on top of the same version at once,
exactly one writes the next version and every other is told which version is there now; versions are
listed newest first and never rewritten."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from voice_gateway.storage.knowledge_versions import KnowledgeVersionStore, StaleVersion
from voice_gateway.storage.schema import open_database


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'gateway.db'}"
    found: str = request.getfixturevalue("postgres_url")
    return found


async def test_of_saves_racing_on_one_version_exactly_one_wins_and_the_rest_are_told(url: str) -> None:
    engine = await open_database(url)
    try:
        store = KnowledgeVersionStore(engine)
        await store.add(0, "name: first\n", "file", "seed")
        outcomes = await asyncio.gather(
            *(store.add(1, f"name: edit {n}\n", "console", f"owner {n}") for n in range(8)),
            return_exceptions=True,
        )
        saved = [o for o in outcomes if not isinstance(o, BaseException)]
        refused = [o for o in outcomes if isinstance(o, StaleVersion)]
        assert len(saved) == 1 and len(refused) == 7 and saved[0].version == 2
        assert all(e.current is not None and e.current.version == 2 for e in refused)
        listed = await store.listing(10)
        assert [(v.version, v.document) for v in listed] == [(2, saved[0].document), (1, "name: first\n")]
        with pytest.raises(StaleVersion):  # an edit of version 1 after 2 exists, one at a time too
            await store.add(1, "name: late\n", "console", "late")
        assert await store.newest_number() == 2 and (await store.newest_from_file()) == listed[1]
    finally:
        await engine.dispose()
