from api.books import bp  # noqa: F401
