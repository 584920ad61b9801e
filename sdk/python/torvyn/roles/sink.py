"""sink: takes elements at the end of a flow."""

from wit_world import exports
from wit_world.imports import types

from torvyn.element import PAUSE, Element
from torvyn.roles._export import Component, define, guarded


def export(cls: type) -> None:
    component = Component(cls)

    class Sink(exports.Sink):
        def push(self, element):
            def call():
                answer = component.get().push(Element(element))
                return types.BackpressureSignal.PAUSE if answer is PAUSE else types.BackpressureSignal.READY

            return guarded(call)

        def complete(self):
            complete = getattr(component.get(), "complete", None)
            if complete is not None:
                guarded(complete)

    define(cls, Sink, exports.Lifecycle, component)
