"""/admin/calendar (closed weekdays and dates) and the public /calendar."""

import re
from datetime import date, timedelta

from flask import current_app, url_for

from api.auth import admin_required, current_user
from api.days import bp, manage
from api.days.schemas import (
    CalendarOut,
    CalendarQuery,
    ClosedDateCreatedOut,
    ClosedDateIn,
    ClosedDateOut,
    DaysOut,
    WeekdaysIn,
)
from api.days.service import closures
from api.errors import NotFound
from api.extensions import db
from api.parsing import json_body, query_args

DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _path_date(day: str) -> date:
    try:
        if DATE_RE.fullmatch(day):
            return date.fromisoformat(day)
    except ValueError:
        pass
    raise NotFound("No such date; use YYYY-MM-DD.")


@bp.get("/admin/calendar")
@admin_required
def get_calendar():
    """The weekly closed days and every closed date.
    ---
    tags: [calendar]
    security: [{bearerAuth: []}]
    x-response: {200: CalendarOut, description: 'The calendar, its dates in LIBRARY_TIMEZONE.'}
    x-errors: [403]
    """
    return CalendarOut().dump(manage.calendar_view(db.session))


@bp.put("/admin/calendar/weekdays")
@admin_required
def put_weekdays():
    """Set the weekdays the library is closed every week.
    ---
    tags: [calendar]
    security: [{bearerAuth: []}]
    description: >
      Replaces the list. Due dates and pickup deadlines computed later skip these days;
      existing due dates stay. Closing all seven days is refused (409 `calendar_all_closed`).
    x-body: WeekdaysIn
    x-response: {200: CalendarOut, description: The calendar.}
    x-errors: [403, 409]
    """
    data = json_body(WeekdaysIn())
    view = manage.set_closed_weekdays(db.session, data["closed_weekdays"], actor_id=current_user().id)
    return CalendarOut().dump(view)


@bp.post("/admin/calendar/closed-dates")
@admin_required
def close_date():
    """Close the library on a date.
    ---
    tags: [calendar]
    security: [{bearerAuth: []}]
    description: >
      When open loans are due that day, a `calendar-reschedule` job is started (see
      `task_id`, and /admin/tasks) that moves them to the same time on the next open day
      and emails each member once. 409 `duplicate` when the date is already closed; 503
      (and nothing changed) when the job cannot be queued.
    x-body: ClosedDateIn
    x-response:
      201: ClosedDateCreatedOut
      description: The closed date, and the job moving its loans (or null).
      location: URL of the closed date.
    x-errors: [403, 409]
    """
    data = json_body(ClosedDateIn())
    closed, run = manage.close_date(db.session, data["date"], data["reason"], actor_id=current_user().id)
    body = ClosedDateCreatedOut().dump({
        "date": closed.date, "reason": closed.reason, "task_id": run and run.id,
        "status_url": run and url_for("admin.get_task", task=run.id)})
    location = url_for("days.get_closed_date", day=closed.date.isoformat())
    return body, 201, {"Location": location}


@bp.get("/admin/calendar/closed-dates/<day>")
@admin_required
def get_closed_date(day: str):
    """One closed date.
    ---
    tags: [calendar]
    security: [{bearerAuth: []}]
    parameters:
      - {in: path, name: day, required: true, schema: {type: string, format: date}}
    x-response: {200: ClosedDateOut, description: The closed date.}
    x-errors: [403, 404]
    """
    return ClosedDateOut().dump(manage.get_closed_date(db.session, _path_date(day)))


@bp.delete("/admin/calendar/closed-dates/<day>")
@admin_required
def reopen_date(day: str):
    """Open a closed date again.
    ---
    tags: [calendar]
    security: [{bearerAuth: []}]
    description: Loans already moved off the date keep their new due dates.
    parameters:
      - {in: path, name: day, required: true, schema: {type: string, format: date}}
    responses:
      204: {description: Open again.}
    x-errors: [403, 404]
    """
    manage.reopen_date(db.session, _path_date(day), actor_id=current_user().id)
    return "", 204


@bp.get("/calendar")
def public_calendar():
    """Which library days are open, from `from` to `to` (at most 366 days).
    ---
    tags: [calendar]
    parameters:
      - {in: query, name: from, schema: {type: string, format: date},
         description: 'First day; default today (library time).'}
      - {in: query, name: to, schema: {type: string, format: date},
         description: 'Last day; default 29 days after `from`; at most 366 days in all.'}
    x-response: {200: DaysOut, description: 'Each day, open or closed, in LIBRARY_TIMEZONE.'}
    x-errors: [400]
    """
    args = query_args(CalendarQuery())
    first, last = args["first"], args["last"]
    calendar = closures(db.session, first, last)
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    return DaysOut().dump({"timezone": current_app.config["LIBRARY_TIMEZONE"], "days": [
        {"date": d, "open": calendar.is_open(d), "reason": calendar.reason(d)} for d in days]})
