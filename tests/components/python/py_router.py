"""Test router: even sequence numbers to "even", odd to "odd", every 5th to both."""

import torvyn


@torvyn.router
class Parity:
    ports = ["even", "odd"]

    def route(self, element: torvyn.Element):
        if element.sequence % 5 == 0:
            return ["even", "odd"]
        return "even" if element.sequence % 2 == 0 else "odd"
