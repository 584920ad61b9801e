"""Test aggregator: emits "pair A B" for every two elements, and at the end
"count=N last=X" (X: the payload with the highest sequence)."""

import torvyn


@torvyn.aggregator
class Pairs:
    def __init__(self):
        self.held = []
        self.count = 0
        self.last = (-1, b"")

    def ingest(self, element: torvyn.Element):
        self.count += 1
        self.last = max(self.last, (element.sequence, element.data))
        self.held.append(element.data)
        if len(self.held) == 2:
            pair, self.held = self.held, []
            return torvyn.Output(b"pair " + b" ".join(pair), content_type="text/plain")
        return None

    def flush(self):
        return [torvyn.Output(b"count=%d last=%s" % (self.count, self.last[1]), content_type="text/plain")]
