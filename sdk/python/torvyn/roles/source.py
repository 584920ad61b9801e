"""source: makes elements when the host pulls."""

from wit_world import exports
from wit_world.exports import source as wit
from wit_world.imports import types

from torvyn.element import Pending
from torvyn.roles._export import Component, define, guarded
from torvyn.roles._output import output_element


def export(cls: type) -> None:
    component = Component(cls)
    next_sequence = [0]

    class Source(exports.Source):
        def pull(self):
            def call():
                out = component.get().pull()
                if out is None:
                    return wit.Pulled_Exhausted()
                if isinstance(out, Pending):
                    return wit.Pulled_Pending(out.after_ns)
                element = output_element(out, None, next_sequence[0])
                next_sequence[0] = element.meta.sequence + 1
                return wit.Pulled_Element(element)

            return guarded(call)

        def notify(self, signal):
            notify = getattr(component.get(), "notify", None)
            if notify is not None:
                notify(signal == types.BackpressureSignal.PAUSE)

    define(cls, Source, exports.Lifecycle, component)
