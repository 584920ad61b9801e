"""filter: keeps (True) or discards (False) elements; the host forwards the same buffer."""

from wit_world import exports

from torvyn.element import Element
from torvyn.roles._export import Component, define, guarded


def export(cls: type) -> None:
    component = Component(cls)

    class Filter(exports.Filter):
        def accept(self, element):
            return guarded(lambda: bool(component.get().accept(Element(element))))

    define(cls, Filter, exports.Lifecycle, component)
