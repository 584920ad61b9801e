"""processor: one element in, at most one out."""

from wit_world import exports
from wit_world.exports import processor as wit

from torvyn.element import Element
from torvyn.roles._export import Component, define, guarded
from torvyn.roles._output import output_element


def export(cls: type) -> None:
    component = Component(cls)

    class Processor(exports.Processor):
        def process(self, element):
            def call():
                e = Element(element)
                out = component.get().process(e)
                if out is None:
                    return wit.ProcessResult_Drop()
                return wit.ProcessResult_Emit(output_element(out, e, e.sequence))

            return guarded(call)

    define(cls, Processor, exports.Lifecycle, component)
