"""{{name}}: a Torvyn sink in Python. Counts what it is given; an empty
payload is refused as invalid input (the node's on-error decides what follows)."""

import torvyn


@torvyn.sink
class {{Name}}:
    def __init__(self):
        self.received = 0

    def push(self, element: torvyn.Element) -> None:
        if element.size == 0:
            raise torvyn.InvalidInput("empty element")
        self.received += 1
