"""{{name}}: a Torvyn router in Python. Even sequence numbers to port
"even", odd ones to "odd"."""

import torvyn


@torvyn.router
class {{Name}}:
    ports = ["even", "odd"]

    def route(self, element: torvyn.Element) -> str:
        return "even" if element.sequence % 2 == 0 else "odd"
