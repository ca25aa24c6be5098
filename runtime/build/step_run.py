"""What a build step uses of the build running it.

RUN, COPY/ADD and the config instructions are handed a ``StepRun``: the build's
``builder.BuildRun``, or in a test something smaller that answers the same.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from cove.runtime.build.backend import BuildBackend, BuildOptions
from cove.runtime.build.context import BuildContext
from cove.runtime.build.step_cache import BuildCache
from cove.runtime.store.layout import Layout


class StepRun(Protocol):
    backend: BuildBackend
    store: Any  # the ImageStore
    context: BuildContext
    options: BuildOptions
    cache: BuildCache
    layout: Layout
    client_gone: Callable[[], bool]
    """True once the client has hung up: a running step is stopped, the build ends."""

    def say(self, text: str) -> None:
        """Show ``text`` in the build's output (unless the build is quiet)."""

    def image_for_copy_from(self, source: str) -> str:
        """The image ID a ``--from`` names: an earlier stage, else an image (pulled if need be)."""

    def temp_file(self) -> Any:
        """An anonymous temporary file in the data root, for a layer being made."""
