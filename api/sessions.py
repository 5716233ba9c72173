"""No cookie sessions: the API is stateless (bearer tokens), so Flask's signed-cookie
session is never opened nor saved. Flask otherwise builds a signing serializer and
looks for the cookie on every request (measured: bench/findings.md)."""

from flask.sessions import SessionInterface


class NoSessions(SessionInterface):
    def open_session(self, app, request):
        return None  # Flask then uses a null session, which refuses writes

    def save_session(self, app, session, response) -> None:
        return None
