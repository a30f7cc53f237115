"""The sans-IO core: pure functions over plain data, shared by gateway and client.

Nothing in this package performs I/O or imports a server dependency.
"""

from nanogate.core._ids import (
    hash_api_key,
    key_prefix,
    looks_like_api_key,
    new_api_key,
    new_id,
    new_request_id,
)
from nanogate.core._money import (
    NANO_PER_USD,
    format_usd,
    nano_to_usd,
    token_cost_nano,
    usd_to_nano,
)
from nanogate.core._redact import KnownSecrets, Secrets, redact, url_secrets
from nanogate.core._render import (
    Surface,
    anthropic_body,
    chat_stream_error,
    error_headers,
    legacy_body,
    messages_stream_error,
    openai_body,
    render_error,
    responses_stream_failed,
)
from nanogate.core._sse import DONE, KEEPALIVE, SSEDecoder, SSEEvent, sse_frame
from nanogate.core._tokens import (
    count_chat_tokens,
    count_content_tokens,
    count_tokens,
    count_value_tokens,
    tokenize,
)

__all__ = [
    "DONE",
    "KEEPALIVE",
    "KnownSecrets",
    "NANO_PER_USD",
    "SSEDecoder",
    "SSEEvent",
    "Secrets",
    "Surface",
    "anthropic_body",
    "chat_stream_error",
    "count_chat_tokens",
    "count_content_tokens",
    "count_tokens",
    "count_value_tokens",
    "error_headers",
    "format_usd",
    "hash_api_key",
    "key_prefix",
    "legacy_body",
    "looks_like_api_key",
    "messages_stream_error",
    "nano_to_usd",
    "new_api_key",
    "new_id",
    "new_request_id",
    "openai_body",
    "redact",
    "render_error",
    "responses_stream_failed",
    "sse_frame",
    "token_cost_nano",
    "tokenize",
    "url_secrets",
    "usd_to_nano",
]
