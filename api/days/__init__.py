"""The library calendar: which days are open, in LIBRARY_TIMEZONE (SPEC "Calendar")."""
