from api.loans import bp  # noqa: F401
