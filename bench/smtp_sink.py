"""A loopback SMTP sink for the mail benchmark: accepts everything, keeps only a count.

Runs as its own process (`python -m bench.smtp_sink PORT`) so that the sink's CPU
shows up on neither side's books; both the worker and the baseline send to it.
The count is served on a second port as plain text, for checking delivery.
"""

import asyncio
import sys

from aiosmtpd.controller import Controller


class Counter:
    def __init__(self):
        self.received = 0

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        self.received += 1
        return "250 OK"


async def serve_count(counter: Counter, port: int) -> None:
    async def answer(reader, writer):
        writer.write(f"{counter.received}\n".encode())
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


def main() -> None:
    smtp_port, count_port = int(sys.argv[1]), int(sys.argv[2])
    counter = Counter()
    controller = Controller(counter, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    print("ready", flush=True)
    try:
        asyncio.run(serve_count(counter, count_port))
    finally:
        controller.stop()


def received(count_port: int) -> int:
    import socket

    with socket.create_connection(("127.0.0.1", count_port), timeout=5) as s:
        return int(s.makefile().readline())


if __name__ == "__main__":
    main()
