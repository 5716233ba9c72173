"""/health: a cheap liveness probe and an async readiness probe."""

from flask import current_app

from api.health import bp
from api.health.checks import run_checks
from api.health.schemas import ReadinessOut


@bp.get("")
def liveness():
    """Liveness probe: the process answers. Touches no dependency.

    GET and HEAD are answered by api.health.probe ahead of Flask's hooks; this view
    documents the route and gives the same answer should the probe be bypassed.
    ---
    tags: [health]
    responses:
      200:
        description: Alive.
        content:
          application/json:
            schema:
              type: object
              properties:
                status: {type: string, example: ok}
    """
    return {"status": "ok"}


@bp.get("/ready")
async def readiness():
    """Readiness probe: database, Redis and a worker for each queue, checked concurrently.
    ---
    tags: [health]
    description: >
      Each check runs in a thread (the clients block) under HEALTH_CHECK_TIMEOUT,
      all at once, so the probe takes as long as the slowest check, not their sum.
      The worker check passes when each queue (mail, jobs) has a worker that recorded
      itself on it in the last three WORKER_HEARTBEAT_SECONDS (README "Health").
    responses:
      503:
        description: At least one check failed (same body; see each check's `error`).
        content:
          application/json:
            schema: {$ref: '#/components/schemas/ReadinessOut'}
    x-response: {200: ReadinessOut, description: Every dependency answered.}
    """
    results = await run_checks(current_app._get_current_object())
    ok = all(result["ok"] for result in results.values())
    body = ReadinessOut().dump({"status": "ok" if ok else "unavailable", "checks": results})
    return body, 200 if ok else 503
