"""aggregator: absorbs elements, emits results now or at the end (flush)."""

from wit_world import exports

from torvyn.element import Element
from torvyn.roles._export import Component, define, guarded
from torvyn.roles._output import output_element


def export(cls: type) -> None:
    component = Component(cls)
    next_sequence = [0]

    def emit(value):
        element = output_element(value, None, next_sequence[0])
        next_sequence[0] = element.meta.sequence + 1
        return element

    class Aggregator(exports.Aggregator):
        def ingest(self, element):
            def call():
                out = component.get().ingest(Element(element))
                return None if out is None else emit(out)

            return guarded(call)

        def flush(self):
            def call():
                flush = getattr(component.get(), "flush", None)
                return [emit(v) for v in (flush() if flush is not None else [])]

            return guarded(call)

    define(cls, Aggregator, exports.Lifecycle, component)
