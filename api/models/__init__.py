"""All models, importable from one place (Alembic needs every table registered)."""

from api.models.audit import AuditEntry
from api.models.book import Book
from api.models.closing import ClosedDate, ClosedWeekday
from api.models.hold import HOLD_STATES, OPEN_HOLD_STATES, Hold
from api.models.loan import Loan
from api.models.notification import NOTIFICATION_STATES, Notification
from api.models.password_reset import PasswordResetToken
from api.models.rule import CirculationRule
from api.models.task_run import TASK_STATES, TaskRun
from api.models.user import ROLES, User

__all__ = [
    "AuditEntry", "Book", "CirculationRule", "ClosedDate", "ClosedWeekday", "Hold", "HOLD_STATES",
    "OPEN_HOLD_STATES", "Loan", "Notification", "NOTIFICATION_STATES", "PasswordResetToken", "TaskRun",
    "TASK_STATES", "User", "ROLES",
]
