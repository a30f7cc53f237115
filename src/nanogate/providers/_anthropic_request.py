"""Chat completions → Anthropic Messages: the request an Anthropic upstream receives.

Pure: a checked chat-completions body in, a Messages body out. System and
developer messages become ``system``; tool results become ``tool_result`` blocks
of a user turn, assistant tool calls ``tool_use`` blocks; consecutive turns of
one role merge (Anthropic alternates roles). Chat knobs Messages lacks (``n``,
penalties, ``seed``, ``logprobs``, ``response_format``) are not sent.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from typing import Any

from nanogate.errors import InvalidParameterValue, UnsupportedInputModality
from nanogate.translate._messages import tool_input

Block = dict[str, Any]

_TOOL_CHOICES: Mapping[str, str] = {"auto": "auto", "none": "none", "required": "any"}
"""Chat ``tool_choice`` strings → Anthropic ``tool_choice.type``."""


def messages_request(
    body: Mapping[str, Any], default_max_tokens: int, *, stream: bool
) -> dict[str, Any]:
    """The Messages request equivalent to the chat request ``body``. ``max_tokens`` is
    ``max_completion_tokens``, else ``max_tokens``, else ``default_max_tokens``."""
    system, turns = _conversation(body["messages"])
    request: dict[str, Any] = {
        "model": body["model"],
        "max_tokens": body.get("max_completion_tokens")
        or body.get("max_tokens")
        or default_max_tokens,
        "messages": turns,
    }
    if system:
        request["system"] = system
    stop = body.get("stop")
    if stop:
        request["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
    for key in ("temperature", "top_p"):
        if body.get(key) is not None:
            request[key] = body[key]
    if body.get("user"):
        request["metadata"] = {"user_id": body["user"]}
    tools = body.get("tools")
    if tools:
        request["tools"] = [_tool_definition(tool["function"]) for tool in tools]
        choice = _tool_choice(body.get("tool_choice"), body.get("parallel_tool_calls"))
        if choice is not None:
            request["tool_choice"] = choice
    if stream:
        request["stream"] = True
    return request


# The conversation ------------------------------------------------------------------------


def _conversation(messages: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """The ``system`` text (system and developer messages, in order) and the turns."""
    system: list[str] = []
    turns: list[dict[str, Any]] = []
    for message in messages:
        role = message["role"]
        if role in ("system", "developer"):
            text = _text(message.get("content"))
            if text:
                system.append(text)
            continue
        turn_role, blocks = _TURNS.get(role, _user)(message)
        if not blocks:
            continue
        if turns and turns[-1]["role"] == turn_role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": turn_role, "content": blocks})
    return "\n\n".join(system), turns


def _text(content: Any) -> str:
    """The text of a string or of the text (and refusal) parts of a list."""
    if isinstance(content, str):
        return content
    return "".join(
        part.get("text") or part.get("refusal") or ""
        for part in content or ()
        if part.get("type") in ("text", "refusal")
    )


def _user(message: Mapping[str, Any]) -> tuple[str, list[Block]]:
    content = message.get("content")
    if isinstance(content, str) or content is None:
        return "user", _text_block(content or "")
    return "user", [block for part in content for block in _part(part)]


def _assistant(message: Mapping[str, Any]) -> tuple[str, list[Block]]:
    blocks = _text_block(_text(message.get("content")))
    for call in message.get("tool_calls") or ():
        function = call["function"]
        blocks.append(
            {
                "type": "tool_use",
                "id": call["id"],
                "name": function["name"],
                "input": tool_input(function.get("arguments")),
            }
        )
    return "assistant", blocks


def _tool_result(message: Mapping[str, Any]) -> tuple[str, list[Block]]:
    """A ``tool`` (or legacy ``function``) message: a ``tool_result`` in a user turn."""
    tool_use_id = message.get("tool_call_id") or message.get("name") or ""
    block = {
        "type": "tool_result",
        "tool_use_id": tool_use_id,
        "content": _text(message.get("content")),
    }
    return "user", [block]


_TURNS: Mapping[str, Callable[[Mapping[str, Any]], tuple[str, list[Block]]]] = {
    "user": _user,
    "assistant": _assistant,
    "tool": _tool_result,
    "function": _tool_result,
}


def _text_block(text: str) -> list[Block]:
    """Anthropic refuses empty text blocks: an empty text is no block at all."""
    return [{"type": "text", "text": text}] if text else []


# Content parts ---------------------------------------------------------------------------


def _part(part: Mapping[str, Any]) -> list[Block]:
    kind = part["type"]
    if kind in ("text", "refusal"):
        return _text_block(_text([part]))
    if kind == "image_url":
        return [{"type": "image", "source": _source(part["image_url"]["url"], "image")}]
    if kind == "file":
        return [_document(part["file"])]
    noun = {"input_audio": "audio", "video_url": "video"}.get(kind, kind)
    raise UnsupportedInputModality(
        f"The model's provider (Anthropic) does not accept {noun} input.", param="messages"
    )


def _source(url: str, noun: str) -> Block:
    """A ``data:`` URL as a base64 source, an http(s) URL as a url source."""
    if url.startswith(("http://", "https://")):
        return {"type": "url", "url": url}
    media_type, data = _data_url(url, noun)
    return {"type": "base64", "media_type": media_type, "data": data}


def _data_url(url: str, noun: str) -> tuple[str, str]:
    """The media type and base64 payload of a ``data:<type>;base64,<data>`` URL."""
    head, comma, data = url.partition(",")
    if not (head.startswith("data:") and head.endswith(";base64") and comma):
        raise InvalidParameterValue(
            f"An {noun} must be an http(s) URL or a base64 data: URL for this model.",
            param="messages",
        )
    return head[len("data:") : -len(";base64")], data


def _document(file: Mapping[str, Any]) -> Block:
    """A chat ``file`` part as a ``document`` block (PDF as base64, text as text)."""
    if file.get("file_url"):
        return {"type": "document", "source": {"type": "url", "url": file["file_url"]}}
    if not file.get("file_data"):
        raise InvalidParameterValue(
            "Files must be sent inline (file_data) or by URL for this model.", param="messages"
        )
    media_type, data = _data_url(file["file_data"], "file")
    if media_type.startswith("text/"):
        try:
            text = base64.b64decode(data, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise InvalidParameterValue(
                "A text file's data is not valid base64 UTF-8.", param="messages"
            ) from exc
        source = {"type": "text", "media_type": "text/plain", "data": text}
    else:
        source = {"type": "base64", "media_type": media_type, "data": data}
    return {"type": "document", "source": source}


# Tools ---------------------------------------------------------------------------------


def _tool_definition(function: Mapping[str, Any]) -> Block:
    tool: Block = {"name": function["name"]}
    if function.get("description") is not None:
        tool["description"] = function["description"]
    tool["input_schema"] = function.get("parameters") or {"type": "object", "properties": {}}
    return tool


def _tool_choice(choice: Any, parallel: bool | None) -> Block | None:
    """``auto``/``none``/``required``/a named function → ``auto``/``none``/``any``/``tool``;
    ``parallel_tool_calls: false`` → ``disable_parallel_tool_use``."""
    if isinstance(choice, Mapping):
        result: Block = {"type": "tool", "name": choice["function"]["name"]}
    elif choice is not None:
        result = {"type": _TOOL_CHOICES[choice]}
    elif parallel is False:
        result = {"type": "auto"}
    else:
        return None
    if parallel is False and result["type"] != "none":
        result["disable_parallel_tool_use"] = True
    return result
