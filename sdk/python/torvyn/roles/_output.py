"""Outputs: bytes or torvyn.Output into the contract's output-element.
Only the roles whose world imports the buffer allocator use this."""

from __future__ import annotations

from componentize_py_types import Err
from wit_world.imports import buffer_allocator, types

from torvyn.element import Element, Output, Unavailable

DEFAULT_CONTENT_TYPE = "application/octet-stream"


def output_element(value: bytes | Output, like: Element | None, sequence: int) -> types.OutputElement:
    """`value` as a new element: content type and meta from `like` (the
    input) unless the Output names its own; `sequence` when there is no input."""
    if isinstance(value, Output):
        data, content_type, seq = value.data, value.content_type, value.sequence
    elif isinstance(value, (bytes, bytearray, memoryview)):
        data, content_type, seq = bytes(value), None, None
    else:
        raise TypeError(f"an element's payload must be bytes or torvyn.Output, not {type(value).__name__}")
    if content_type is None:
        content_type = like.content_type if like is not None else DEFAULT_CONTENT_TYPE
    if like is not None:
        meta = like.meta if seq is None else types.ElementMeta(sequence=seq, timestamp_ns=like.timestamp_ns)
    else:
        meta = types.ElementMeta(sequence=sequence if seq is None else seq, timestamp_ns=0)
    try:
        payload = buffer_allocator.make(data, content_type)
    except Err as e:  # a budget or limit of the host: the node's policy decides
        raise Unavailable(f"the host refused a buffer of {len(data)} bytes: {e.value}") from e
    return types.OutputElement(meta=meta, payload=payload)
