"""The pass-through processor of the language comparison, in Python."""

import torvyn


@torvyn.processor
class Pass:
    def process(self, element: torvyn.Element) -> bytes:
        return element.data
