"""router: sends each element to some of its named ports (the same buffer, shared)."""

from wit_world import exports

from torvyn.element import Element
from torvyn.roles._export import Component, define, guarded


def export(cls: type) -> None:
    component = Component(cls)

    class Router(exports.Router):
        def ports(self):
            ports = component.get().ports
            return list(ports() if callable(ports) else ports)

        def route(self, element):
            def call():
                to = component.get().route(Element(element))
                if to is None:
                    return []
                return [to] if isinstance(to, str) else list(to)

            return guarded(call)

    define(cls, Router, exports.Lifecycle, component)
