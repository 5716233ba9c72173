"""Files of job runs, stored in the database in chunks (models/task_data.py).

Both directions stream: an upload is copied from the request in CHUNK_SIZE pieces,
a worker reads it back one chunk per query on its own connection (so its batch
transactions stay writes-only on SQLite), and a download is sent chunk by chunk.
"""

import io
from collections.abc import Iterator

from flask import current_app
from sqlalchemy import delete, func, select

from api.extensions import db
from api.models import TaskFile, TaskFileChunk

CHUNK_SIZE = 256 * 1024


class JobFailed(Exception):
    """A job's own refusal (unreadable file, output too large): the run fails with this text."""


def store_upload(session, run_id: str, stream, *, filename: str, content_type: str) -> TaskFile:
    """Copy `stream` into an input file of `run_id` (in the caller's transaction)."""
    file = TaskFile(run_id=run_id, kind="input", filename=filename[:255] or "upload",
                    content_type=content_type[:100], size=0, complete=False)
    session.add(file)
    session.flush()
    seq = 0
    while chunk := stream.read(CHUNK_SIZE):
        session.execute(TaskFileChunk.__table__.insert(), {"file_id": file.id, "seq": seq, "data": chunk})
        file.size += len(chunk)
        seq += 1
    file.complete = True
    return file


def iter_chunks(file_id: int) -> Iterator[bytes]:
    """A file's bytes, one chunk per short read on a connection of its own."""
    seq = 0
    while True:
        with db.engine.connect() as conn:
            data = conn.scalar(select(TaskFileChunk.data).where(TaskFileChunk.file_id == file_id,
                                                                TaskFileChunk.seq == seq))
        if data is None:
            return
        yield bytes(data)
        seq += 1


class ChunkReader(io.RawIOBase):
    """A binary file object over a stored file; `consumed` counts bytes handed out."""

    def __init__(self, file_id: int):
        self._chunks = iter_chunks(file_id)
        self._buffer = b""
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def readinto(self, target) -> int:
        while not self._buffer:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._buffer = chunk
        size = min(len(target), len(self._buffer))
        target[:size] = self._buffer[:size]
        self._buffer = self._buffer[size:]
        self.consumed += size
        return size


class OutputWriter:
    """Appends a run's output file; each `flush` writes one chunk in the current
    transaction, so a batch's rows and its part of the file commit together."""

    def __init__(self, run_id: str, *, filename: str, content_type: str, resume: bool = False):
        """A new output file in place of any the run had; with `resume`, the run's file
        if it has one, appended to (a redelivered job going on where the attempt that
        died stopped)."""
        found = None
        if resume:
            found = db.session.scalar(select(TaskFile).filter_by(run_id=run_id, kind="output"))
        if found is None:
            db.session.execute(delete(TaskFile).where(TaskFile.run_id == run_id, TaskFile.kind == "output"))
            found = TaskFile(run_id=run_id, kind="output", filename=filename, content_type=content_type,
                             size=0, complete=False)
            db.session.add(found)
            db.session.flush()
        self.file = found
        # Chunks are numbered from 0 without gaps: the next is their count.
        self._seq = db.session.scalar(select(func.count()).select_from(TaskFileChunk)
                                      .where(TaskFileChunk.file_id == found.id)) if resume else 0
        self._buffer = io.BytesIO()
        self._limit = current_app.config["TASK_OUTPUT_MAX_BYTES"]

    def write(self, data: bytes) -> None:
        self._buffer.write(data)

    def flush(self) -> None:
        data = self._buffer.getvalue()
        if not data:
            return
        size = self.file.size + len(data)
        if size > self._limit:
            raise JobFailed(f"The output would exceed TASK_OUTPUT_MAX_BYTES ({self._limit} bytes).")
        db.session.execute(TaskFileChunk.__table__.insert(),
                           {"file_id": self.file.id, "seq": self._seq, "data": data})
        self._seq += 1
        self.file.size = size
        self._buffer = io.BytesIO()

    def close(self) -> None:
        self.flush()
        self.file.complete = True
