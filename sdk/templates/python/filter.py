"""{{name}}: a Torvyn filter in Python. Keeps elements with an even sequence number."""

import torvyn


@torvyn.filter
class {{Name}}:
    def accept(self, element: torvyn.Element) -> bool:
        return element.sequence % 2 == 0
