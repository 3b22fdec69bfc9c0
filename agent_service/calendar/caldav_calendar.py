"""The business's own calendar over CalDAV (RFC 4791): Nextcloud, Fastmail, iCloud, Radicale, Baïkal…

`caldav`'s async client does the protocol (auth negotiation, REPORT calendar-query, multistatus
parsing); `icalendar` the events (ics.py). Each appointment is one resource, `<uid>.ics`, created with
`If-None-Match: *` and changed or deleted only with `If-Match: <etag>`, so nothing the agent writes
replaces an edit it has not seen.

Two calls that want one slot, on one agent or on several: writes hold a lock that lives in the
collection itself, a resource created with `If-None-Match: *` (exactly one creator wins at the server)
and deleted after the write; a lock older than LOCK_TTL_S (its holder died) is taken over with
`If-Match`. Under it busy time is read again and only then the event is written, so of two bookings
for one slot exactly one is made and the other gets SlotTaken. Every request runs under
CALENDAR_TIMEOUT_S; a server that is down, slow or answers 5xx is CalendarUnavailable, a 4xx
CalendarRejected: nothing is ever reported booked that the server did not confirm with 201 or 204.
"""

from __future__ import annotations

import asyncio
import math
import re
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
from caldav.async_davclient import AsyncDAVClient
from caldav.lib import error as dav_error

from agent_service.calendar import ics
from agent_service.calendar.base import Appointment, Booking, phone_key
from agent_service.errors import AppointmentNotFound, CalendarRejected, CalendarUnavailable, SlotTaken
from agent_service.scheduling import Interval

LOCK_TTL_S = 30.0
_LOCK_NAME = "agentlocator-write-lock.ics"
_LOCK_PROP = "X-AGENTLOCATOR-LOCK-EXPIRES"
_ICS = {"Content-Type": 'text/calendar; charset="utf-8"'}


class CalDavCalendar:
    name = "caldav"

    def __init__(self, url: str, username: str, password: str, *, timeout_s: float, zone: ZoneInfo) -> None:
        self._url = url if url.endswith("/") else url + "/"
        self._timeout_s = timeout_s
        self._zone = zone
        self._client = AsyncDAVClient(
            url=self._url,
            username=username or None,
            password=password or None,
            timeout=math.ceil(timeout_s),
            enable_rfc6764=False,  # the URL is the collection: never look anything up in DNS
            rate_limit_handle=False,  # a 429/503 is an outage to report now, not a sleep mid-call
        )
        self._writing = asyncio.Lock()

    # Reading -------------------------------------------------------------------------------------

    async def _events(self, start: datetime, end: datetime) -> list[tuple[str, str | None, Any]]:
        """(href, etag, calendar) of every resource with an event in [start, end)."""
        async with self._deadline("read"):
            response = await self._client.calendar_query(
                url=self._url, start=start.astimezone(UTC), end=end.astimezone(UTC), event=True
            )
        _check(response.status, "search the calendar", ok=(200, 207))
        found = []
        for result in response.results or []:
            data = getattr(result, "calendar_data", None)
            if data:
                try:
                    found.append((str(result.href), getattr(result, "etag", None), ics.parse(data)))
                except ValueError:
                    continue  # one unreadable event must not hide the rest of the calendar
        return found

    async def busy(self, start: datetime, end: datetime) -> list[Interval]:
        busy: list[Interval] = []
        for _, _, cal in await self._events(start, end):
            busy.extend(b for b in ics.busy_of(cal, start, end, self._zone) if b.overlaps(start, end))
        return busy

    async def appointments(self, start: datetime, end: datetime) -> list[Appointment]:
        found = []
        for _, _, cal in await self._events(start, end):
            for event in cal.walk("VEVENT"):
                appointment = ics.appointment_of(event)
                if appointment is not None and start <= appointment.start < end:
                    found.append(appointment)
        return sorted(found, key=lambda a: a.start)

    async def find(self, phone: str, after: datetime, before: datetime) -> list[Appointment]:
        key = phone_key(phone)
        return [a for a in await self.appointments(after, before) if key and phone_key(a.phone) == key]

    # Writing -------------------------------------------------------------------------------------

    async def create(self, booking: Booking) -> Appointment:
        uid = f"{uuid.uuid4()}@agentlocator"
        appointment = Appointment(
            uid,
            booking.start,
            booking.end,
            booking.name,
            booking.phone,
            booking.service,
            booking.source,
            booking.channel,
        )
        async with self._locked():
            await self._check_free(booking.start, booking.end, None)
            body = ics.calendar_text([ics.event_of(uid, booking)])
            async with self._deadline("write"):
                response = await self._client.put(self._href(uid), body, {**_ICS, "If-None-Match": "*"})
            if response.status == 412:
                raise CalendarRejected("the calendar already holds an event with this id")
            _check(response.status, "write the appointment", ok=(200, 201, 204))
        return appointment

    async def move(self, appointment_id: str, start: datetime, end: datetime) -> Appointment:
        async with self._locked():
            etag, current = await self._get(appointment_id)
            await self._check_free(start, end, appointment_id)
            moved = Appointment(
                current.id,
                start,
                end,
                current.name,
                current.phone,
                current.service,
                current.source,
                current.channel,
            )
            body = ics.calendar_text([ics.event_of(appointment_id, moved)])
            async with self._deadline("write"):
                response = await self._client.put(
                    self._href(appointment_id), body, {**_ICS, **_if_match(etag)}
                )
            if response.status == 412:
                raise SlotTaken("the appointment changed while it was being moved")
            _check(response.status, "move the appointment", ok=(200, 201, 204))
        return moved

    async def cancel(self, appointment_id: str) -> Appointment:
        async with self._locked():
            etag, current = await self._get(appointment_id)
            async with self._deadline("write"):
                response = await self._client.delete(self._href(appointment_id), _if_match(etag))
            if response.status in (404, 410):
                raise AppointmentNotFound(f"no appointment {appointment_id!r}")
            if response.status == 412:
                raise SlotTaken("the appointment changed while it was being cancelled")
            _check(response.status, "cancel the appointment", ok=(200, 204))
        return current

    async def _get(self, appointment_id: str) -> tuple[str | None, Appointment]:
        async with self._deadline("read"):
            response = await self._client.request(self._href(appointment_id), "GET")
        if response.status in (404, 410):
            raise AppointmentNotFound(f"no appointment {appointment_id!r}")
        _check(response.status, "read the appointment", ok=(200,))
        body = response._raw_body.decode("utf-8") if response._raw_body else str(response._raw)
        for event in ics.parse(body).walk("VEVENT"):
            appointment = ics.appointment_of(event)
            if appointment is not None:
                return response.headers.get("ETag"), appointment
        raise AppointmentNotFound(f"{appointment_id!r} is not an appointment the agent made")

    async def _check_free(self, start: datetime, end: datetime, moving: str | None) -> None:
        for _, _, cal in await self._events(start - timedelta(days=1), end + timedelta(days=1)):
            mine = {str(e.get("uid")) for e in cal.walk("VEVENT")}
            if moving in mine:
                continue
            if any(b.overlaps(start, end) for b in ics.busy_of(cal, start, end, self._zone)):
                raise SlotTaken("that time has just been taken")

    # The collection-wide write lock ----------------------------------------------------------------

    @asynccontextmanager
    async def _locked(self) -> AsyncIterator[None]:
        async with self._writing:
            etag = await self._acquire()
            try:
                yield
            finally:
                await self._release(etag)

    async def _acquire(self) -> str | None:
        deadline = time.monotonic() + self._timeout_s
        pause = 0.02
        while True:
            expires = time.time() + LOCK_TTL_S
            body = _lock_body(expires)
            async with self._deadline("lock"):
                response = await self._client.put(
                    self._url + _LOCK_NAME, body, {**_ICS, "If-None-Match": "*"}
                )
            if response.status in (200, 201, 204):
                etag: str | None = response.headers.get("ETag")
                return etag
            if response.status != 412:
                _check(response.status, "take the booking lock", ok=())
            await self._break_if_stale()
            if time.monotonic() + pause > deadline:
                raise CalendarUnavailable(
                    f"the calendar stayed locked by another booking for {self._timeout_s:g} s"
                )
            await asyncio.sleep(pause)  # another agent holds it for one write: poll, it is gone in ms
            pause = min(pause * 2, 0.25)

    async def _break_if_stale(self) -> None:
        async with self._deadline("lock"):
            response = await self._client.request(self._url + _LOCK_NAME, "GET")
        if response.status != 200:
            return
        text = response._raw_body.decode("utf-8", "replace") if response._raw_body else str(response._raw)
        m = re.search(rf"^{_LOCK_PROP}:(\d+(?:\.\d+)?)", text, re.M)
        if m is None or float(m[1]) >= time.time():
            return
        # Its holder died mid-write: delete exactly the stale lock we read, never a fresh one.
        async with self._deadline("lock"):
            await self._client.delete(self._url + _LOCK_NAME, _if_match(response.headers.get("ETag")))

    async def _release(self, etag: str | None) -> None:
        try:
            async with self._deadline("unlock"):
                await self._client.delete(self._url + _LOCK_NAME, _if_match(etag))
        except CalendarUnavailable:
            pass  # it expires after LOCK_TTL_S; the write itself already succeeded or failed

    # Plumbing ---------------------------------------------------------------------------------------

    def _href(self, uid: str) -> str:
        return self._url + re.sub(r"[^A-Za-z0-9@._-]", "_", uid) + ".ics"

    @asynccontextmanager
    async def _deadline(self, what: str) -> AsyncIterator[None]:
        try:
            async with asyncio.timeout(self._timeout_s):
                yield
        except TimeoutError:
            raise CalendarUnavailable(
                f"the calendar did not answer within {self._timeout_s:g} s ({what})"
            ) from None
        except dav_error.AuthorizationError:
            raise CalendarRejected("the calendar refused CALENDAR_USERNAME / CALENDAR_PASSWORD") from None
        except dav_error.RateLimitError:
            raise CalendarUnavailable("the calendar is rate limiting us") from None
        except (OSError, dav_error.DAVError) as e:
            raise CalendarUnavailable(
                f"the calendar could not be reached ({what}): {type(e).__name__}"
            ) from None

    async def close(self) -> None:
        await self._client.close()


def _if_match(etag: str | None) -> dict[str, str]:
    return {"If-Match": etag} if etag else {}


def _lock_body(expires: float) -> str:
    event = icalendar.Event()
    event.add("uid", "agentlocator-write-lock")
    event.add("dtstamp", datetime.now(UTC))
    event.add("dtstart", datetime(1970, 1, 1, tzinfo=UTC))
    event.add("dtend", datetime(1970, 1, 1, 0, 1, tzinfo=UTC))
    event.add("summary", "AgentLocator: booking in progress")
    event.add(_LOCK_PROP, f"{expires:.3f}")
    return ics.calendar_text([event])


def _check(status: int, what: str, *, ok: tuple[int, ...]) -> None:
    if status in ok:
        return
    if status >= 500 or status in (408, 429):
        raise CalendarUnavailable(f"the calendar failed to {what}: HTTP {status}")
    raise CalendarRejected(f"the calendar refused to {what}: HTTP {status}")
