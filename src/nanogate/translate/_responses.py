"""OpenAI Responses ⇄ chat completions: request, response object, stored conversation.

The response object is built in one place, :class:`ResponseShell`, from a
list of segments (a reply's text and its tool calls, in order); the
non-streaming path and :class:`~nanogate.translate.ResponsesStream` both call
it, so they agree to the byte. Output item ids derive from the response id and
the item's position: ``msg_<id>_<n>`` and ``fc_<id>_<n>``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

_COPIED = ("temperature", "top_p", "parallel_tool_calls", "user", "stream")
_INCOMPLETE = {"length": "max_output_tokens", "content_filter": "content_filter"}
"""Chat ``finish_reason`` values that leave a response incomplete, and the reason given."""


@dataclass(frozen=True, slots=True)
class TextSegment:
    """Assistant text: one ``message`` output item."""

    text: str


@dataclass(frozen=True, slots=True)
class CallSegment:
    """One tool call: one ``function_call`` output item."""

    call_id: str
    name: str
    arguments: str


Segment = TextSegment | CallSegment


# Requests ------------------------------------------------------------------------------


def responses_to_chat(
    body: dict[str, Any], history: list[dict[str, Any]]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The chat request for a Responses request, and the conversation to store.

    ``history`` is the stored conversation of ``previous_response_id``. The
    conversation is ``history`` plus this request's input; the chat request
    puts a system message from ``instructions`` before it (instructions are
    not carried over to later turns, as in the Responses API).
    """
    conversation = [*history, *_input_messages(body.get("input", []))]
    messages = list(conversation)
    if body.get("instructions"):
        messages.insert(0, {"role": "system", "content": body["instructions"]})
    chat: dict[str, Any] = {"model": body["model"], "messages": messages}
    if body.get("max_output_tokens") is not None:
        chat["max_tokens"] = body["max_output_tokens"]
    for key in _COPIED:
        if body.get(key) is not None:
            chat[key] = body[key]
    tools = [_tool(tool) for tool in body.get("tools") or [] if tool.get("type") == "function"]
    if tools:
        chat["tools"] = tools
    choice = body.get("tool_choice")
    if isinstance(choice, str):
        chat["tool_choice"] = choice
    elif isinstance(choice, dict) and choice.get("type") == "function":
        chat["tool_choice"] = {"type": "function", "function": {"name": choice["name"]}}
    response_format = _response_format((body.get("text") or {}).get("format"))
    if response_format is not None:
        chat["response_format"] = response_format
    return chat, conversation


def _input_messages(value: str | list[dict[str, Any]]) -> list[dict[str, Any]]:
    if isinstance(value, str):
        return [{"role": "user", "content": value}]
    messages: list[dict[str, Any]] = []
    for item in value:
        kind = item.get("type", "message")
        if kind == "message":
            messages.append(_message(item))
        elif kind == "function_call":
            _append_call(messages, item)
        elif kind == "function_call_output":
            output = item.get("output", "")
            if isinstance(output, list):
                output = "".join(p.get("text", "") for p in output if p.get("type") == "input_text")
            messages.append({"role": "tool", "tool_call_id": item["call_id"], "content": output})
    return messages


def _append_call(messages: list[dict[str, Any]], item: dict[str, Any]) -> None:
    """Add a call to the assistant message just before it, as chat sends them, or start one."""
    function = {"name": item["name"], "arguments": item.get("arguments", "")}
    call = {"id": item["call_id"], "type": "function", "function": function}
    if messages and messages[-1]["role"] == "assistant":
        last = messages[-1]
        last.setdefault("tool_calls", []).append(call)
        last["content"] = last.get("content") or None
    else:
        messages.append({"role": "assistant", "content": None, "tool_calls": [call]})


def _message(item: dict[str, Any]) -> dict[str, Any]:
    """One input message; ``developer`` becomes ``system``, which every provider knows."""
    role = "system" if item["role"] == "developer" else item["role"]
    content = item.get("content", "")
    if isinstance(content, str):
        return {"role": role, "content": content}
    parts = [part for part in (_part(p) for p in content) if part is not None]
    only_text = all(part["type"] == "text" for part in parts)
    if role != "user" or (only_text and len(parts) <= 1):
        text = "".join(part.get("text", "") for part in parts)
        return {"role": role, "content": text}
    return {"role": role, "content": parts}


def _part(part: dict[str, Any]) -> dict[str, Any] | None:
    kind = part.get("type")
    if kind in ("input_text", "output_text"):
        return {"type": "text", "text": part["text"]}
    if kind == "refusal":
        return {"type": "text", "text": part["refusal"]}
    if kind == "input_image" and part.get("image_url"):
        image: dict[str, Any] = {"url": part["image_url"]}
        if part.get("detail"):
            image["detail"] = part["detail"]
        return {"type": "image_url", "image_url": image}
    if kind == "input_file":
        file = {k: part[k] for k in ("file_data", "filename", "file_url") if part.get(k)}
        return {"type": "file", "file": file}
    if kind == "input_audio":
        audio = {key: part["input_audio"][key] for key in ("data", "format")}
        return {"type": "input_audio", "input_audio": audio}
    return None


def _tool(tool: dict[str, Any]) -> dict[str, Any]:
    function: dict[str, Any] = {"name": tool["name"]}
    for key in ("description", "parameters", "strict"):
        if tool.get(key) is not None:
            function[key] = tool[key]
    return {"type": "function", "function": function}


def _response_format(fmt: dict[str, Any] | None) -> dict[str, Any] | None:
    if not fmt or fmt.get("type") == "text":
        return None
    if fmt["type"] == "json_object":
        return {"type": "json_object"}
    schema = {k: fmt[k] for k in ("name", "description", "schema", "strict") if k in fmt}
    return {"type": "json_schema", "json_schema": schema}


# Responses -----------------------------------------------------------------------------


def chat_to_response(
    completion: dict[str, Any],
    *,
    request: dict[str, Any],
    response_id: str,
    created_at: int,
    model: str,
) -> dict[str, Any]:
    """The Responses ``response`` object equivalent to a ``chat.completion``."""
    choice = (completion.get("choices") or [{}])[0]
    reply = choice.get("message") or {}
    segments: list[Segment] = []
    if reply.get("content"):
        segments.append(TextSegment(reply["content"]))
    for call in reply.get("tool_calls") or []:
        function = call.get("function") or {}
        name, arguments = function.get("name", ""), function.get("arguments", "")
        segments.append(CallSegment(call["id"], name, arguments))
    shell = ResponseShell(request, response_id, created_at, model)
    return shell.final(segments, choice.get("finish_reason"), completion.get("usage"))


def output_to_chat(response: dict[str, Any]) -> list[dict[str, Any]]:
    """The assistant chat message equivalent to a response's output (``[]`` if none)."""
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    for item in response.get("output") or []:
        if item["type"] == "message":
            texts.extend(p.get("text") or p.get("refusal") or "" for p in item["content"])
        elif item["type"] == "function_call":
            function = {"name": item["name"], "arguments": item["arguments"]}
            calls.append({"id": item["call_id"], "type": "function", "function": function})
    if not calls:
        return [{"role": "assistant", "content": "".join(texts)}] if texts else []
    return [{"role": "assistant", "content": "".join(texts) or None, "tool_calls": calls}]


@dataclass(frozen=True, slots=True)
class ResponseShell:
    """What every state of one response shares: its id, creation time, model and request."""

    request: dict[str, Any]
    response_id: str
    created_at: int
    model: str

    def final(
        self, segments: list[Segment], finish_reason: str | None, usage: dict[str, Any] | None
    ) -> dict[str, Any]:
        """The finished response; when it is incomplete, so is its last item."""
        reason = _INCOMPLETE.get(finish_reason or "")
        output = [self.item(index, seg, "completed") for index, seg in enumerate(segments)]
        if reason is None:
            return self.snapshot("completed", output, response_usage(usage))
        if output:
            output[-1]["status"] = "incomplete"
        return self.snapshot("incomplete", output, response_usage(usage), {"reason": reason})

    def snapshot(
        self,
        status: str,
        output: list[dict[str, Any]],
        usage: dict[str, Any] | None = None,
        incomplete_details: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The response object in any state, echoing the request's settings."""
        request = self.request
        tools = [_echo_tool(t) for t in request.get("tools") or [] if t.get("type") == "function"]
        return {
            "id": self.response_id,
            "object": "response",
            "created_at": self.created_at,
            "status": status,
            "error": None,
            "incomplete_details": incomplete_details,
            "instructions": request.get("instructions"),
            "max_output_tokens": request.get("max_output_tokens"),
            "model": self.model,
            "output": output,
            "parallel_tool_calls": request.get("parallel_tool_calls", True),
            "previous_response_id": request.get("previous_response_id"),
            "store": request.get("store", True),
            "temperature": request.get("temperature", 1),
            "text": request.get("text") or {"format": {"type": "text"}},
            "tool_choice": request.get("tool_choice", "auto"),
            "tools": tools,
            "top_p": request.get("top_p", 1),
            "truncation": "disabled",
            "usage": usage,
            "user": request.get("user"),
            "metadata": request.get("metadata") or {},
        }

    def item(self, index: int, segment: Segment, status: str) -> dict[str, Any]:
        """The output item for ``segment`` at position ``index``."""
        suffix = self.response_id.removeprefix("resp_")
        if isinstance(segment, TextSegment):
            content = [text_part(segment.text)]
            return {
                "type": "message",
                "id": f"msg_{suffix}_{index}",
                "status": status,
                "role": "assistant",
                "content": content,
            }
        return {
            "type": "function_call",
            "id": f"fc_{suffix}_{index}",
            "call_id": segment.call_id,
            "name": segment.name,
            "arguments": segment.arguments,
            "status": status,
        }


def _echo_tool(tool: dict[str, Any]) -> dict[str, Any]:
    keys = ("name", "description", "parameters", "strict")
    return {"type": "function", **{key: tool.get(key) for key in keys}}


def response_usage(usage: dict[str, Any] | None) -> dict[str, Any] | None:
    """Chat ``usage`` in the Responses shape; ``None`` when the upstream reported none."""
    if not usage:
        return None
    prompt = usage.get("prompt_tokens") or 0
    completion = usage.get("completion_tokens") or 0
    cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0
    reasoning = (usage.get("completion_tokens_details") or {}).get("reasoning_tokens") or 0
    return {
        "input_tokens": prompt,
        "input_tokens_details": {"cached_tokens": cached, "cache_write_tokens": 0},
        "output_tokens": completion,
        "output_tokens_details": {"reasoning_tokens": reasoning},
        "total_tokens": usage.get("total_tokens") or prompt + completion,
    }


def text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": []}
