"""`/console/knowledge`: teach the agent. The knowledge as a form (business, hours, closed days,
services, questions callers ask, transfer number, and every other key the loader knows), saved as a new
version after the one the page was opened on, checked by the loader the agent runs; every earlier
version listed, viewable and restorable. The agent takes the newest version from the next call on
(voice_gateway/knowledge/source.py)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from prometheus_client import Counter
from quart import Blueprint, Response, redirect, render_template, request

from agentlocator_common.knowledge import KnowledgeError, parse_knowledge
from voice_gateway.console.data import ConsoleData
from voice_gateway.console.responses import AnyResponse, text
from voice_gateway.knowledge.form import FieldProblem, KnowledgeForm, document_of, form_of, submitted
from voice_gateway.knowledge.form import problem_of as field_problem
from voice_gateway.storage.knowledge_versions import KnowledgeVersion, StaleVersion

log = logging.getLogger("voice_gateway.console")

VERSIONS_LISTED = 50
# The column is a 32-bit integer on PostgreSQL; a larger number in a URL is a 404, never a database error.
_VERSION = "<int(min=1, max=2147483647):version>"
KNOWLEDGE_SAVES = Counter(
    "agentlocator_console_knowledge_saves",
    "Knowledge saves and restores from the console: saved, refused (invalid, the field named), "
    "stale (another save came first; nothing overwritten)",
    ["outcome"],
)
Page = Callable[..., Awaitable[AnyResponse]]


def register_knowledge(
    blueprint: Blueprint, signed_in: Callable[[Page], Page], data: Callable[[], ConsoleData], seed_file: Path
) -> None:
    async def page(
        csrf: str,
        values: KnowledgeForm | None,
        *,
        base: int | None = None,
        problem: FieldProblem | None = None,
        stale: KnowledgeVersion | None = None,
        status: int = 200,
    ) -> AnyResponse:
        store = data().knowledge
        versions = await store.listing(VERSIONS_LISTED)
        newest = versions[0] if versions else None
        unreadable = ""
        if values is None:
            values, unreadable = await _newest_form(newest, seed_file)
        html = await render_template(
            "knowledge.html",
            csrf=csrf,
            page="knowledge",
            form=values.with_blank_rows(),
            base=(newest.version if newest else 0) if base is None else base,
            newest=newest,
            versions=versions,
            seed_file=str(seed_file),
            problem=problem,
            unreadable=unreadable,
            stale=stale,
            saved=request.args.get("saved", "")[:12],
        )
        return Response(html, status=status)

    @blueprint.get("/knowledge")
    @signed_in
    async def knowledge(csrf: str) -> AnyResponse:
        return await page(csrf, None)

    @blueprint.post("/knowledge")
    @signed_in
    async def save(csrf: str) -> AnyResponse:
        form: Any = await request.form
        base = _base(form)
        if base is None:
            return text("base_version must be a version number: reload the page", 422)
        values = submitted(form)
        document = document_of(values)
        try:
            parse_knowledge(document, "the form")
        except KnowledgeError as e:
            KNOWLEDGE_SAVES.labels("refused").inc()
            found = field_problem(e)
            log.info("CONSOLE_KNOWLEDGE_REFUSED key=%s problem=%s", found.key, found.problem)
            return await page(csrf, values, base=base, problem=found, status=422)
        return await _store(csrf, base, document, "console", "edited in the console", values)

    @blueprint.get(f"/knowledge/versions/{_VERSION}")
    @signed_in
    async def version(csrf: str, version: int) -> AnyResponse:
        found = await data().knowledge.get(version)
        if found is None:
            return text(f"no knowledge version {version}", 404)
        newest = await data().knowledge.newest_number()
        html = await render_template(
            "knowledge_version.html", csrf=csrf, page="knowledge", version=found, newest=newest
        )
        return Response(html)

    @blueprint.post(f"/knowledge/versions/{_VERSION}/restore")
    @signed_in
    async def restore(csrf: str, version: int) -> AnyResponse:
        base = _base(await request.form)
        if base is None:
            return text("base_version must be a version number: reload the page", 422)
        found = await data().knowledge.get(version)
        if found is None:
            return text(f"no knowledge version {version}", 404)
        try:  # the rules may have tightened since it was saved
            parse_knowledge(found.document, f"version {version}")
        except KnowledgeError as e:
            KNOWLEDGE_SAVES.labels("refused").inc()
            problem = field_problem(e)
            return await page(csrf, form_of(found.document), base=base, problem=problem, status=422)
        return await _store(csrf, base, found.document, "restore", f"restored version {version}", None)

    async def _store(
        csrf: str, base: int, document: str, source: str, note: str, values: KnowledgeForm | None
    ) -> AnyResponse:
        try:
            saved = await data().knowledge.add(base, document, source, note)
        except StaleVersion as e:
            KNOWLEDGE_SAVES.labels("stale").inc()
            current = e.current
            log.info("CONSOLE_KNOWLEDGE_STALE base=%d newest=%s", base, current and current.version)
            # The owner's edits come back as typed, on top of the newest version: saving again is
            # a deliberate overwrite of what they have now been shown, never a silent one.
            newest = current.version if current else 0
            return await page(csrf, values or form_of(document), base=newest, stale=current, status=409)
        KNOWLEDGE_SAVES.labels("saved").inc()
        log.info("CONSOLE_KNOWLEDGE_SAVED version=%d source=%s", saved.version, source)
        return redirect(f"/console/knowledge?saved={saved.version}", 303)


def _base(form: Any) -> int | None:
    raw = str(form.get("base_version", ""))
    return int(raw) if raw.isdigit() and len(raw) < 12 else None


async def _newest_form(newest: KnowledgeVersion | None, seed_file: Path) -> tuple[KnowledgeForm, str]:
    """The form for the newest version; with none stored (the file could not be seeded), the file's."""
    if newest is not None:
        return form_of(newest.document), ""
    try:
        document = await asyncio.to_thread(seed_file.read_text, encoding="utf-8")
        parse_knowledge(document, str(seed_file))
        return form_of(document), ""
    except (OSError, UnicodeDecodeError) as e:
        return KnowledgeForm(), f"cannot read {seed_file}: {e}"
    except KnowledgeError as e:
        return KnowledgeForm(), f"{e} — fix the file, or fill in the form and save a first version"
