"""Elements, outputs and errors: what every role sees.

Nothing here imports the generated bindings at module level except the
types interface, which every role's world has.
"""

from __future__ import annotations

from wit_world.imports import types


class Error(Exception):
    """A failure the node's `on-error` policy handles (docs/error-policies.md)."""

    def _wit(self) -> types.ProcessError:
        return types.ProcessError_Internal(str(self))


class InvalidInput(Error):
    """This element is bad; others may be fine (dead-letter or skip it)."""

    def _wit(self):
        return types.ProcessError_InvalidInput(str(self))


class Unavailable(Error):
    """Something the component needs is not there now (retry may help)."""

    def _wit(self):
        return types.ProcessError_Unavailable(str(self))


class Internal(Error):
    """A bug or an unexpected state in the component."""


class DeadlineExceeded(Error):
    """The element's deadline passed before the work was done."""

    def _wit(self):
        return types.ProcessError_DeadlineExceeded()


class Fatal(Error):
    """The component cannot go on: the host stops the node."""

    def _wit(self):
        return types.ProcessError_Fatal(str(self))


def as_process_error(e: BaseException) -> types.ProcessError:
    """Any exception, as the contract's process-error (unknown ones are internal)."""
    if isinstance(e, Error):
        return e._wit()
    return types.ProcessError_Internal(f"{type(e).__name__}: {e}")


class Element:
    """An element lent for one call: read it, do not keep it."""

    __slots__ = ("_raw", "_data")

    def __init__(self, raw: types.StreamElement):
        self._raw = raw
        self._data: bytes | None = None

    @property
    def data(self) -> bytes:
        """The whole payload (copied in once, on first use)."""
        if self._data is None:
            self._data = self._raw.payload.read_all()
        return self._data

    def read(self, offset: int, length: int) -> bytes:
        """Part of the payload, without copying the rest."""
        return self._raw.payload.read(offset, length)

    @property
    def size(self) -> int:
        return self._raw.payload.size()

    @property
    def content_type(self) -> str:
        return self._raw.payload.content_type()

    @property
    def sequence(self) -> int:
        return self._raw.meta.sequence

    @property
    def timestamp_ns(self) -> int:
        return self._raw.meta.timestamp_ns

    @property
    def meta(self) -> types.ElementMeta:
        return self._raw.meta


class Output:
    """An element to emit: bytes, their content type, and optionally a sequence.

    Returning plain `bytes` is the short form: the input's content type and
    sequence (processors), or the next sequence number (sources).
    """

    __slots__ = ("data", "content_type", "sequence")

    def __init__(self, data: bytes, content_type: str | None = None, sequence: int | None = None):
        self.data = data
        self.content_type = content_type
        self.sequence = sequence


class Pending:
    """What a source returns when it has nothing yet: ask again in `after_ns` (0: host decides)."""

    __slots__ = ("after_ns",)

    def __init__(self, after_ns: int = 0):
        self.after_ns = after_ns


class _Pause:
    def __repr__(self) -> str:
        return "torvyn.PAUSE"


# What a sink's push returns to ask the host to hold further elements a while.
PAUSE = _Pause()
