"""WeChat's API as the soak sees it: devtools.fakewechat with a round trip of latency on every API call, and a
count of how many times each distinct message arrived (every push must arrive exactly once).

Run: python -m tests.benchmarks.soak.fake --latency-ms 100  (prints the base URL, as devtools.fakewechat does)
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from collections import Counter
from typing import Any

from devtools.fakewechat import FakeServer, FakeWeChat, _json

SOAK_STATS = "/_soak"


class SlowWeChat(FakeWeChat):
    """The loopback fake, answering every API call after `latency_s` (as a trip to Tencent's servers takes)."""

    def __init__(self, latency_s: float) -> None:
        super().__init__(token_delay_s=latency_s)
        self.latency_s = latency_s
        self.copies: Counter[str] = Counter()
        self.copies_lock = threading.Lock()

    def handle(self, method: str, target: str, body: bytes) -> tuple[int, str, bytes]:
        if target.startswith(SOAK_STATS):
            with self.copies_lock:
                repeated = {k: n for k, n in self.copies.items() if n > 1}
                return _json({"messages": sum(self.copies.values()), "distinct": len(self.copies),
                              "repeated": list(repeated.items())[:10]})
        if target.startswith("/cgi-bin/") and not target.startswith("/cgi-bin/token"):
            time.sleep(self.latency_s)
        answer = super().handle(method, target, body)
        if "/message/" in target and answer[0] == 200 and b'"errcode": 0' in answer[2]:
            self._count(body)
        return answer

    def _count(self, body: bytes) -> None:
        """One more copy of this message (its addressee and content; a push's content names its ticket and step)."""
        try:
            msg: Any = json.loads(body)
        except ValueError:
            return
        key = json.dumps([msg.get("touser"), msg.get("data") or msg.get("text")], sort_keys=True, ensure_ascii=False)
        with self.copies_lock:
            self.copies[key] += 1


def main() -> None:
    parser = argparse.ArgumentParser(description="the loopback WeChat fake, with latency")
    parser.add_argument("--latency-ms", type=float, default=100.0)
    args = parser.parse_args()
    server = FakeServer(SlowWeChat(args.latency_ms / 1000.0), "127.0.0.1", 0)
    print(f"fakewechat listening on http://127.0.0.1:{server.port}/cgi-bin/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
