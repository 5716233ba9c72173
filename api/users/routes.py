from api.users import bp  # noqa: F401
