"""A processor in Python: classifies each log record and names its service.

severity: "alert" for errors or a latency of 500 ms and more, "slow" from
200 ms, else "ok". Debug records are dropped here (counted as filtered).
"""

import json

import torvyn

SERVICES = {"login": "auth", "password": "auth", "payment": "billing", "cache": "storage", "upstream": "gateway"}


@torvyn.processor
class Classify:
    def __init__(self, config: str):
        self.slow_ms = int(config.partition("slow-ms=")[2] or 200)

    def process(self, element: torvyn.Element) -> bytes | None:
        record = json.loads(element.data)
        if record["level"] == "debug":
            return None
        latency = record["latency_ms"]
        if record["level"] == "error" or latency >= 500:
            record["severity"] = "alert"
        else:
            record["severity"] = "slow" if latency >= self.slow_ms else "ok"
        first_word = record["msg"].split(" ", 1)[0]
        record["service"] = SERVICES.get(first_word, "other")
        return json.dumps(record, separators=(",", ":")).encode()
