"""Test sink: counts; refuses a payload with a "3" in it as invalid input."""

import torvyn


@torvyn.sink
class Tally:
    def __init__(self):
        self.n = 0

    def push(self, element: torvyn.Element):
        if b"3" in element.data:
            raise torvyn.InvalidInput(f"no threes: {element.data!r}")
        self.n += 1

    def complete(self):
        if self.n == 0:
            raise torvyn.Internal("nothing arrived")
