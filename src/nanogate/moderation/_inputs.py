"""What there is to moderate: the inputs of a request, as :class:`Part` sequences.

Pure functions over request data. ``POST /moderations`` takes a string, a list
of strings (one input each) or a list of content parts (one input); inline
moderation moderates a chat prompt as one input made of every message's text
and images. Blank text is not moderatable; an input with nothing else is
``empty_moderation_input``, and a part the moderator cannot read is
``unsupported_moderation_input``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from nanogate.core import count_content_tokens, count_tokens
from nanogate.errors import EmptyModerationInput, UnsupportedModerationInput
from nanogate.moderation._protocol import Input, Part
from nanogate.routing import Model

_KINDS = {
    "text": "text",
    "image_url": "image",
    "input_audio": "audio",
    "file": "file",
    "video_url": "video",
}
"""Chat content-part types and the kind of input each is."""


def part_of(raw: Mapping[str, Any]) -> Part | None:
    """A chat-dialect content part as a :class:`Part` (``None`` for blank text)."""
    kind = str(raw.get("type"))
    if kind == "text":
        text = raw.get("text")
        if not isinstance(text, str) or not text.strip():
            return None
        return Part("text", text=text, tokens=count_tokens(text))
    tokens = count_content_tokens([raw])
    if kind == "image_url":
        image = raw.get("image_url")
        url = image.get("url") if isinstance(image, Mapping) else image
        return Part("image", url=url if isinstance(url, str) else "", tokens=tokens)
    return Part(_KINDS.get(kind, kind), tokens=tokens)


def content_parts(content: Any) -> Iterator[Part]:
    """The parts of a message's ``content``: a string or a list of content parts."""
    if isinstance(content, str):
        if content.strip():
            yield Part("text", text=content, tokens=count_tokens(content))
        return
    if isinstance(content, list):
        for raw in content:
            if isinstance(raw, Mapping):
                part = part_of(raw)
                if part is not None:
                    yield part


def request_inputs(value: str | list[Any]) -> tuple[Input, ...]:
    """The inputs of a ``/moderations`` request's ``input`` (its shape already checked)."""
    if isinstance(value, str):
        return (tuple(content_parts(value)),)
    if value and all(isinstance(item, str) for item in value):
        return tuple(tuple(content_parts(item)) for item in value)
    return (tuple(content_parts(value)),) if value else ()


def prompt_input(messages: Iterable[Mapping[str, Any]]) -> Input:
    """A chat prompt as one input: the text and images of every message, in order
    (system, user, assistant and tool messages alike; tool-call arguments are not
    content and are not moderated)."""
    return tuple(part for message in messages for part in content_parts(message.get("content")))


def check_moderatable(inputs: tuple[Input, ...], param: str) -> None:
    """Raise ``empty_moderation_input`` unless every input has something to moderate."""
    if not inputs:
        raise EmptyModerationInput(f"'{param}' has nothing to moderate.", param=param)
    for index, parts in enumerate(inputs):
        if not parts:
            where = f"{param}[{index}]" if len(inputs) > 1 else param
            raise EmptyModerationInput(
                f"'{where}' has nothing to moderate: no text and no images.", param=param
            )


_NOUNS = {"image": "image", "audio": "audio", "file": "file", "video": "video"}


def check_readable(
    inputs: tuple[Input, ...], model: Model, kinds: frozenset[str], param: str
) -> None:
    """Raise ``unsupported_moderation_input`` for a part the model cannot read: a kind
    its moderator does not read, or an image for a model without ``vision``."""
    for parts in inputs:
        for part in parts:
            readable = part.kind in kinds and (part.kind != "image" or model.supports("vision"))
            if not readable:
                noun = _NOUNS.get(part.kind, f"'{part.kind}'")
                raise UnsupportedModerationInput(
                    f"The moderation model '{model.id}' cannot read {noun} input.", param=param
                )
