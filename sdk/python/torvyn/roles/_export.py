"""What every role's export shares: the component's one instance, its
life cycle, and turning Python exceptions into the contract's errors."""

from __future__ import annotations

import inspect
import sys
from typing import Any, Callable

from componentize_py_types import Err

from torvyn.element import as_process_error


class Component:
    """The user's class and its one instance (the host calls one export at a time)."""

    def __init__(self, cls: type):
        self.cls = cls
        self.instance: Any = None

    def create(self, config: str) -> None:
        takes_config = self.cls.__init__ is not object.__init__ and (
            len(inspect.signature(self.cls.__init__).parameters) > 1
        )
        self.instance = self.cls(config) if takes_config else self.cls()

    def get(self) -> Any:
        if self.instance is None:  # a host that skips init: no config
            self.create("")
        return self.instance


def guarded(call: Callable[[], Any]) -> Any:
    """Runs `call`; any exception becomes the contract's process-error."""
    try:
        return call()
    except Exception as e:  # every failure reaches the node's error policy
        raise Err(as_process_error(e)) from e


def define(cls: type, role_export: type, lifecycle_base: type, component: Component) -> None:
    """Defines `<Role>` and `Lifecycle` in the module that declared `cls`,
    where componentize-py looks for a component's exports."""

    class Lifecycle(lifecycle_base):
        def init(self, config: str) -> None:
            guarded(lambda: component.create(config))

        def teardown(self) -> None:
            teardown = getattr(component.get(), "teardown", None)
            if teardown is not None:
                teardown()

    module = sys.modules[cls.__module__]
    setattr(module, role_export.__name__, role_export)
    setattr(module, "Lifecycle", Lifecycle)
