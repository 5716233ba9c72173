from api.health import bp


@bp.get("")
def liveness():
    """Liveness probe: the process answers. Touches no dependency.
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
