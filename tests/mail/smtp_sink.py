"""A real SMTP server for the outbox tests (aiosmtpd, pinned in .ci/run).

Usage: smtp_sink.py HOST PORT DIR

Every message accepted is written to DIR as <seq>-<uuid>.json (atomically: written
aside, then renamed), with its envelope, its headers and its decoded text
and HTML parts (Python's e-mail parser), and as <seq>-<uuid>.eml (the raw bytes); <seq> counts from 000001 in the
order messages arrive.
Prints "ready" once listening; runs until killed.
"""

import asyncio
import json
import os
import sys
import uuid
from email import message_from_bytes
from email.policy import default

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, folder):
        self.folder = folder
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        msg = message_from_bytes(envelope.content, policy=default)
        text = msg.get_body(preferencelist=("plain",))
        html = msg.get_body(preferencelist=("html",))
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "headers": {k: str(v) for k, v in msg.items()},
            "content_type": msg.get_content_type(),
            "text": text.get_content() if text is not None else None,
            "html": html.get_content() if html is not None else None,
        }
        # Numbered in the order they arrive (the tests read them in order).
        self.count += 1
        name = f"{self.count:06d}-{uuid.uuid4().hex}"
        for ext, data in (("eml", envelope.content), ("json", json.dumps(record).encode())):
            tmp = os.path.join(self.folder, f".{name}.{ext}.tmp")
            with open(tmp, "wb") as f:
                f.write(data)
            os.rename(tmp, os.path.join(self.folder, f"{name}.{ext}"))
        return "250 Message accepted for delivery"


def main():
    host, port, folder = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    os.makedirs(folder, exist_ok=True)
    controller = Controller(Sink(folder), hostname=host, port=port)
    controller.start()
    print("ready", flush=True)
    try:
        asyncio.new_event_loop().run_forever()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
