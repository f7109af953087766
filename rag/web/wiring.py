"""The seam between Gradio and the controller: components by name, and events that call
`ChatController` methods.

A controller method returns (or yields) a `Change`, a dict of component names to new
values; `Ui.updates` turns it into the `{component: value}` dict Gradio applies,
translating the controller's `Options`, `Examples` and `Shown` into `gr.update`s.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import gradio as gr

from rag.web.controller import Change, ChatController, Examples, Options, Shown

Component = gr.components.Component
Updates = dict[Component, Any]


def gradio_value(value: Any) -> Any:
    """A controller value as Gradio takes it."""
    if isinstance(value, Options):
        return gr.update(choices=value.choices, value=value.value)
    if isinstance(value, Examples):
        examples = [{"text": q} for q in value.questions]
        return gr.update(value=[], examples=examples) if value.clear else gr.update(examples=examples)
    if isinstance(value, Shown):
        return gr.update(visible=value.visible)
    return value


def client_of(request: gr.Request | None) -> str:
    """Who asks: the client's IP address (behind a proxy on loopback, the one it forwards)."""
    client = getattr(request, "client", None)
    return str(getattr(client, "host", "") or "unknown")


class Ui(dict[str, Any]):
    """The app's components by name, and the controller their events call."""

    def __init__(self, controller: ChatController) -> None:
        super().__init__()
        self.controller = controller

    def components(self, names: Sequence[str]) -> list[Any]:
        return [self[name] for name in names]

    def updates(self, change: Change) -> Updates:
        return {self[name]: gradio_value(value) for name, value in change.items()}

    def on(
        self,
        triggers: Any,
        method: Callable[..., Any],
        inputs: Sequence[str],
        outputs: Sequence[str],
        stream: bool = False,
        then: Any = None,
        client: bool = False,
        **options: Any,
    ) -> Any:
        """Call `method` with the named inputs' values when a trigger fires (or, for `then`, after
        an event); apply its changes. With `client`, a streaming `method` also gets the client's address."""

        def handler(*values: Any) -> Updates:
            return self.updates(method(*values))

        def streaming(*values: Any) -> Iterator[Updates]:
            for change in method(*values):
                yield self.updates(change)

        # Gradio injects the request only into a positional parameter annotated gr.Request.
        def streaming_for(request: gr.Request, *values: Any) -> Iterator[Updates]:
            for change in method(*values, client=client_of(request)):
                yield self.updates(change)

        fn = (streaming_for if client else streaming) if stream else handler
        settings = {"api_visibility": "private", "show_progress": "hidden", **options}
        if then is not None:
            return then.then(fn, self.components(inputs), self.components(outputs), **settings)
        return gr.on(triggers, fn, self.components(inputs), self.components(outputs), **settings)
