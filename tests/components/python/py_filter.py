"""Test filter: drops sequence numbers 2 more than a multiple of 4."""

import torvyn


@torvyn.filter
class Keep:
    def accept(self, element: torvyn.Element) -> bool:
        return element.sequence % 4 != 2
