from api.holds import bp  # noqa: F401
