"""{{name}}: a Torvyn source in Python. Emits "{{name}} 0", "{{name}} 1", ...
(config "count=N", default 5), then ends."""

import torvyn


@torvyn.source
class {{Name}}:
    def __init__(self, config: str):
        self.count = int(config.partition("count=")[2] or 5)
        self.next = 0

    def pull(self) -> bytes | None:
        if self.next == self.count:
            return None  # exhausted
        self.next += 1
        return f"{{name}} {self.next - 1}".encode()
