"""Torvyn guest SDK for Python (componentize-py).

Write a class for your component's role and export it with the role's
decorator; build with componentize-py against the role's world:

    import torvyn

    @torvyn.processor
    class Shout:
        def __init__(self, config: str):
            pass

        def process(self, element: torvyn.Element) -> bytes | None:
            return element.data.upper() + b"!"

The decorator defines the export classes componentize-py looks for
(`Processor`, `Lifecycle`, ...) in your module. Each role lives in its own
module (torvyn.processor, torvyn.source, ...), imported only by the
decorator you use: a sink's world has no buffer allocator to bind.
"""

from importlib import import_module

from torvyn.element import (
    PAUSE,
    DeadlineExceeded,
    Element,
    Error,
    Fatal,
    Internal,
    InvalidInput,
    Output,
    Pending,
    Unavailable,
)

__all__ = [
    "PAUSE",
    "DeadlineExceeded",
    "Element",
    "Error",
    "Fatal",
    "Internal",
    "InvalidInput",
    "Output",
    "Pending",
    "Unavailable",
    "source",
    "processor",
    "sink",
    "filter",
    "router",
    "aggregator",
]


def _exporter(role: str):
    def export(cls):
        """Exports `cls` as this component's {role}; returns it unchanged."""
        import_module(f"torvyn.roles.{role}").export(cls)
        return cls

    export.__name__ = role
    export.__doc__ = f"Exports a class as the component's {role}."
    return export


source = _exporter("source")
processor = _exporter("processor")
sink = _exporter("sink")
filter = _exporter("filter")  # noqa: A001 - the role's name
router = _exporter("router")
aggregator = _exporter("aggregator")
