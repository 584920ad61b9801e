"""Test source: "py 0", "py 1", ... (config count=N); says Pending once first."""

import torvyn


@torvyn.source
class Count:
    def __init__(self, config: str):
        self.count = int(config.partition("count=")[2] or 3)
        self.next = 0
        self.waited = False

    def pull(self):
        if not self.waited:  # the host must ask again, not give up
            self.waited = True
            return torvyn.Pending(after_ns=1_000_000)
        if self.next == self.count:
            return None
        self.next += 1
        return torvyn.Output(f"py {self.next - 1}".encode(), content_type="text/plain")
