"""{{name}}: a Torvyn processor in Python. Upper-cases the text."""

import torvyn


@torvyn.processor
class {{Name}}:
    def process(self, element: torvyn.Element) -> bytes | None:
        return element.data.upper()  # None would drop the element
