from api.admin import bp  # noqa: F401
