"""All models, importable from one place (Alembic needs every table registered)."""

from api.models import search_index  # noqa: F401  (registers the search index's DDL events)
from api.models.account_line import ACCOUNT_LINE_KINDS, AccountLine
from api.models.audit import AuditEntry
from api.models.block import Block
from api.models.book import Book
from api.models.closing import ClosedDate, ClosedWeekday
from api.models.hold import HOLD_STATES, OPEN_HOLD_STATES, Hold
from api.models.item import CIRCULATING_STATES, GONE_STATES, ITEM_STATES, Item
from api.models.loan import Loan
from api.models.notification import NOTIFICATION_STATES, Notification
from api.models.password_reset import PasswordResetToken
from api.models.rule import CirculationRule
from api.models.task_data import FILE_KINDS, MESSAGE_LEVELS, TaskFile, TaskFileChunk, TaskMessage
from api.models.task_run import FINISHED_STATES, TASK_STATES, TaskRun
from api.models.user import ROLES, User

__all__ = [
    "AccountLine", "ACCOUNT_LINE_KINDS", "AuditEntry", "Block",
    "Book", "CIRCULATING_STATES", "CirculationRule", "ClosedDate", "ClosedWeekday",
    "GONE_STATES", "ITEM_STATES", "Item", "Hold",
    "HOLD_STATES", "OPEN_HOLD_STATES", "Loan", "Notification",
    "NOTIFICATION_STATES", "PasswordResetToken", "TaskRun", "TASK_STATES",
    "FINISHED_STATES", "TaskMessage", "TaskFile", "TaskFileChunk", "MESSAGE_LEVELS", "FILE_KINDS",
    "User", "ROLES",
]
