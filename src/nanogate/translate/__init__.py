"""Pure translators between the gateway's dialects.

Providers speak chat completions; the Anthropic Messages and OpenAI Responses
surfaces translate requests into it and replies (whole or streamed) out of it.
Every function here is sans-IO: plain dicts in, plain dicts out.
"""

from nanogate.translate._chunks import Event
from nanogate.translate._messages import chat_to_message, messages_to_chat
from nanogate.translate._messages_stream import MessagesStream
from nanogate.translate._responses import chat_to_response, output_to_chat, responses_to_chat
from nanogate.translate._responses_stream import ResponsesStream

__all__ = [
    "Event",
    "MessagesStream",
    "ResponsesStream",
    "chat_to_message",
    "chat_to_response",
    "messages_to_chat",
    "output_to_chat",
    "responses_to_chat",
]
