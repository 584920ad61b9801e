"""{{name}}: a Torvyn aggregator in Python. Counts what it absorbs and,
when its input ends, emits one element "count=N"."""

import torvyn


@torvyn.aggregator
class {{Name}}:
    def __init__(self):
        self.absorbed = 0

    def ingest(self, element: torvyn.Element) -> None:
        self.absorbed += 1  # nothing to emit yet

    def flush(self) -> list[torvyn.Output]:
        return [torvyn.Output(f"count={self.absorbed}".encode(), content_type="text/plain")]
