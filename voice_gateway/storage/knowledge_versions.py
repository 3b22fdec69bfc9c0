"""The knowledge_versions table: the business's knowledge, one row per saved version, never rewritten.

`add` writes the version after the one the editor started from. The version number is the primary key,
so of two owners who started from the same version only the first commits; the second gets
`StaleVersion` naming what is there now, and nothing of theirs overwrites it silently.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import Row, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from voice_gateway.storage.database import now_iso
from voice_gateway.storage.schema import knowledge_versions


@dataclass(frozen=True, slots=True)
class KnowledgeVersion:
    version: int
    document: str
    digest: str
    source: str  # file | console | restore
    note: str
    saved_at: str


class StaleVersion(Exception):
    """Someone saved a version after the one this edit started from."""

    def __init__(self, current: KnowledgeVersion | None) -> None:
        super().__init__(f"version {current.version if current else 0} is newer than the edit's base")
        self.current = current


def digest_of(document: str) -> str:
    return hashlib.sha256(document.encode("utf-8")).hexdigest()


class KnowledgeVersionStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def newest_number(self) -> int:
        """The newest version's number (0: none yet): one indexed lookup, cheap enough per call."""
        async with self._engine.connect() as conn:
            found = await conn.scalar(select(func.max(knowledge_versions.c.version)))
        return int(found or 0)

    async def get(self, version: int) -> KnowledgeVersion | None:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(select(knowledge_versions).where(knowledge_versions.c.version == version))
            ).first()
        return None if row is None else _version(row)

    async def newest(self) -> KnowledgeVersion | None:
        number = await self.newest_number()
        return await self.get(number) if number else None

    async def listing(self, limit: int) -> list[KnowledgeVersion]:
        """The newest `limit` versions, newest first (documents included: each is at most 256 KiB)."""
        query = select(knowledge_versions).order_by(knowledge_versions.c.version.desc()).limit(limit)
        async with self._engine.connect() as conn:
            return [_version(row) for row in (await conn.execute(query)).all()]

    async def newest_from_file(self) -> KnowledgeVersion | None:
        query = (
            select(knowledge_versions)
            .where(knowledge_versions.c.source == "file")
            .order_by(knowledge_versions.c.version.desc())
            .limit(1)
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else _version(row)

    async def add(self, base: int, document: str, source: str, note: str) -> KnowledgeVersion:
        """Save `document` as version base + 1; raises StaleVersion when `base` is not the newest."""
        if await self.newest_number() != base:
            raise StaleVersion(await self.newest())
        row = {
            "version": base + 1,
            "document": document,
            "digest": digest_of(document),
            "source": source,
            "note": note[:200],
            "saved_at": now_iso(),
        }
        try:
            async with self._engine.begin() as conn:
                await conn.execute(knowledge_versions.insert().values(**row))
        except IntegrityError:  # another save took base + 1 between the check and the insert
            raise StaleVersion(await self.newest()) from None
        return KnowledgeVersion(**row)  # type: ignore[arg-type]


def _version(row: Row[tuple[object, ...]]) -> KnowledgeVersion:
    m = row._mapping
    return KnowledgeVersion(
        int(m["version"]),
        str(m["document"]),
        str(m["digest"]),
        str(m["source"]),
        str(m["note"]),
        str(m["saved_at"]),
    )
