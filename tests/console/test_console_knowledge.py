"""Teaching the agent from the console: the knowledge as a form, saved as a new version after the one the
page was opened on, refused naming the field by the loader the agent runs, earlier versions restorable;
through Quart's test client on the real app (the database seeded from KNOWLEDGE_FILE)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from quart.typing import TestClientProtocol as Client

from agent_service.knowledge import DEMO_KNOWLEDGE_FILE
from agentlocator_common.knowledge import parse_knowledge
from tests.console.test_console_auth import BROWSER, _settings, _sign_in
from voice_gateway.app import create_app
from voice_gateway.knowledge.form import form_of
from voice_gateway.storage.knowledge_versions import KnowledgeVersionStore
from voice_gateway.storage.schema import open_database


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[Client]:
    app = create_app(_settings(tmp_path))
    async with app.test_app() as running:
        yield running.test_client()


def form_fields(html: str) -> dict[str, str]:
    """What the browser would post: every input's and textarea's value, as the page shows it."""
    fields = {
        m.group(1): _unescape(m.group(2))
        for m in re.finditer(r'<input id="[^"]*" name="([^"]+)" type="[^"]*" value="([^"]*)"', html)
    }
    for m in re.finditer(r'<textarea id="[^"]*" name="([^"]+)" rows="\d+"[^>]*>(.*?)</textarea>', html, re.S):
        fields[m.group(1)] = _unescape(m.group(2))
    for name in ("csrf_token", "base_version"):
        found = re.search(rf'name="{name}" value="([^"]*)"', html)
        assert found is not None
        fields[name] = found.group(1)
    return fields


def _unescape(text: str) -> str:
    for escaped, plain in (("&#39;", "'"), ("&#34;", '"'), ("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&")):
        text = text.replace(escaped, plain)
    return text


async def open_form(client: Client) -> dict[str, str]:
    page = await client.get("/console/knowledge", headers=BROWSER)
    assert page.status_code == 200
    return form_fields(await page.get_data(as_text=True))


async def versions(tmp_path: Path) -> list[tuple[int, str, str]]:
    engine = await open_database(f"sqlite:///{tmp_path}/console.db")
    try:
        listed = await KnowledgeVersionStore(engine).listing(50)
    finally:
        await engine.dispose()
    return [(v.version, v.source, v.document) for v in listed]


async def test_the_first_start_seeds_version_1_from_the_file_and_the_form_shows_every_key(
    client: Client, tmp_path: Path
) -> None:
    await _sign_in(client)
    fields = await open_form(client)
    assert [(v, s) for v, s, _ in await versions(tmp_path)] == [(1, "file")]
    assert fields["base_version"] == "1"
    assert fields["name"] == "Bright Smile Dental Clinic" and fields["transfer_number"] == "+441273000111"
    assert fields["day-saturday"] == "09:00-13:00" and fields["day-sunday"] == "closed"
    assert fields["service-0-name"] == "check-up" and fields["service-0-price"] == "45 pounds"
    assert fields["service-0-minutes"] == "30" and fields["service-0-aliases"].startswith("checkup, ")
    assert fields["faq-0-question"] == "Do you take new patients?"
    assert "2026-12-25" in fields["holidays"] and fields["booking-step_minutes"] == "15"
    assert fields["persona"].startswith("Amy") and "hygienist" in fields["vocabulary"]
    # The form as shown, posted back unchanged, is the same knowledge.
    demo = parse_knowledge(DEMO_KNOWLEDGE_FILE.read_text(encoding="utf-8"), "demo")
    response = await client.post("/console/knowledge", form=fields)
    assert response.status_code == 303 and response.headers["Location"] == "/console/knowledge?saved=2"
    stored = await versions(tmp_path)
    assert parse_knowledge(stored[0][2], "version 2") == demo


async def test_an_edit_is_saved_as_a_new_version_and_an_earlier_one_can_be_restored(
    client: Client, tmp_path: Path
) -> None:
    await _sign_in(client)
    fields = await open_form(client)
    fields |= {"day-saturday": "10:00-14:00", "faq-8-question": "Do you do braces?", "faq-8-answer": "No."}
    fields |= {"service-1-name": "", "service-1-price": "", "service-1-minutes": "", "service-1-aliases": ""}
    assert (await client.post("/console/knowledge", form=fields)).status_code == 303
    newest = parse_knowledge((await versions(tmp_path))[0][2], "version 2")
    assert newest.opening is not None and str(newest.opening.weekly[5][0][0]) == "10:00:00"
    assert newest.faqs[-1].question == "Do you do braces?"
    assert "scale and polish" not in [s.name for s in newest.services]  # the emptied row is gone
    page = await (await client.get("/console/knowledge?saved=2", headers=BROWSER)).get_data(as_text=True)
    assert "Saved as version 2." in page and 'id="version-1"' in page and 'id="version-2"' in page
    shown = await client.get("/console/knowledge/versions/1", headers=BROWSER)
    assert "saturday: 09:00-13:00" in await shown.get_data(as_text=True)
    restore = await client.post(
        "/console/knowledge/versions/1/restore",
        form={"csrf_token": fields["csrf_token"], "base_version": "2"},
    )
    assert restore.status_code == 303 and restore.headers["Location"] == "/console/knowledge?saved=3"
    listed = await versions(tmp_path)
    assert [(v, s) for v, s, _ in listed] == [(3, "restore"), (2, "console"), (1, "file")]
    assert listed[0][2] == listed[2][2]  # version 1's document, word for word
    assert (await open_form(client))["day-saturday"] == "09:00-13:00"


@pytest.mark.parametrize(
    ("change", "field_id", "key", "problem"),
    [
        ({"day-saturday": "14:00-10:00"}, "day-saturday", "opening_hours.saturday", "closes before it opens"),
        ({"service-2-price": "-95 pounds"}, "service-2-price", "services.price", "must not be negative"),
        ({"transfer_number": "01273 000111"}, "transfer_number", "transfer_number", "E.164"),
        ({"faq-3-answer": "a" * 10_000}, "faq-3-answer", "faqs.answer", "10,000 characters; at most 1,000"),
        ({"holidays": "2026-12-25\nChristmas"}, "holidays", "holidays", "not a date"),
        ({"name": ""}, "name", "name", "must be non-empty text"),
        ({"service-0-minutes": "half an hour"}, "service-0-minutes", "services.minutes", "whole number"),
    ],
)
async def test_an_impossible_value_is_refused_naming_the_field_and_nothing_is_saved(
    client: Client, tmp_path: Path, change: dict[str, str], field_id: str, key: str, problem: str
) -> None:
    await _sign_in(client)
    fields = await open_form(client) | change
    response = await client.post("/console/knowledge", form=fields)
    html = await response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'<a href="#{field_id}">' in html and f"(<code>{key}</code>)" in html and problem in html
    # The field is marked for a screen reader, and keeps what the owner typed.
    control = re.search(rf'<(?:input|textarea) id="{field_id}"[^>]*>', html)
    assert control is not None and 'aria-invalid="true"' in control.group(0)
    assert form_fields(html)[field_id] == change[field_id]
    assert [v for v, _, _ in await versions(tmp_path)] == [1]


async def test_the_second_of_two_owners_saving_at_once_is_told_and_overwrites_nothing(
    client: Client, tmp_path: Path
) -> None:
    await _sign_in(client)
    first, second = await open_form(client), await open_form(client)
    first["day-saturday"] = "10:00-14:00"
    second["day-saturday"] = "08:00-12:00"
    assert (await client.post("/console/knowledge", form=first)).status_code == 303
    refused = await client.post("/console/knowledge", form=second)
    html = await refused.get_data(as_text=True)
    assert refused.status_code == 409
    assert "The knowledge changed while you were editing" in html and "Version 2 was saved" in html
    stored = await versions(tmp_path)
    assert [v for v, _, _ in stored] == [2, 1] and "saturday: 10:00-14:00" in stored[0][2]
    # Their edit comes back as typed, now on top of version 2: saving again is a deliberate choice.
    again = form_fields(html)
    assert again["day-saturday"] == "08:00-12:00" and again["base_version"] == "2"
    assert (await client.post("/console/knowledge", form=again)).status_code == 303
    assert form_of((await versions(tmp_path))[0][2]).days["saturday"] == "08:00-12:00"
    stale_restore = await client.post(
        "/console/knowledge/versions/1/restore", form={"csrf_token": again["csrf_token"], "base_version": "1"}
    )
    assert stale_restore.status_code == 409 and len(await versions(tmp_path)) == 3


async def test_every_knowledge_route_needs_a_sign_in_and_every_form_the_csrf_token(client: Client) -> None:
    for path in ("/console/knowledge", "/console/knowledge/versions/1"):
        page = await client.get(path, headers=BROWSER)
        assert page.status_code == 303 and page.headers["Location"] == "/console/login"
    for path in ("/console/knowledge", "/console/knowledge/versions/1/restore"):
        assert (await client.post(path, form={"base_version": "1"})).status_code == 401
    fields = await _sign_in(client) and await open_form(client)
    forged = await client.post("/console/knowledge", form=fields | {"csrf_token": "forged"})
    assert forged.status_code == 403
    restore = await client.post("/console/knowledge/versions/1/restore", form={"base_version": "1"})
    assert restore.status_code == 403


async def test_every_element_id_on_the_knowledge_page_is_unique(client: Client) -> None:
    # A label, an error link and a screen reader find a field by its id: two of one id misdirect them
    # (the greeting's paragraph and its field once shared one).
    await _sign_in(client)
    html = await (await client.get("/console/knowledge", headers=BROWSER)).get_data(as_text=True)
    ids = re.findall(r'\sid="([^"]+)"', html)
    assert len(ids) > 80 and len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    labelled = set(re.findall(r'<label for="([^"]+)"', html))
    assert labelled and labelled <= set(ids)


def test_the_form_shows_each_value_as_the_agent_reads_it() -> None:
    # YAML 1.1 would read `no` as false and `0750` as an octal number; the loader reads the text.
    document = DEMO_KNOWLEDGE_FILE.read_text(encoding="utf-8").replace("language: en", "language: no")
    document = document.replace("price: 45 pounds", "price: 0750")
    form = form_of(document)
    assert form.texts["language"] == "no" and form.services[0]["price"] == "0750"
    assert form.lists["holidays"].splitlines()[0] == "2026-12-25"


async def test_a_version_number_past_any_stored_one_is_not_found_not_a_server_error(client: Client) -> None:
    csrf = await _sign_in(client)
    for number in ("0", "7", "2147483648", "9" * 30):
        page = await client.get(f"/console/knowledge/versions/{number}", headers=BROWSER)
        assert page.status_code == 404, number
        restore = await client.post(
            f"/console/knowledge/versions/{number}/restore", form={"csrf_token": csrf, "base_version": "1"}
        )
        assert restore.status_code == 404, number
