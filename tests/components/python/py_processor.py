"""Test processor: upper case and "!"."""

import torvyn


@torvyn.processor
class Shout:
    def process(self, element: torvyn.Element) -> bytes:
        return element.data.upper() + b"!"
