"""Request schemas: the fields the gateway must understand, validated strictly.

Fields a schema does not declare are not rejected; the original request body
is what travels upstream, so they pass through untouched.
"""

from nanogate.server.schemas.byok import ProviderKeyRequest
from nanogate.server.schemas.chat import ChatCompletionRequest
from nanogate.server.schemas.embeddings import EmbeddingsRequest
from nanogate.server.schemas.legacy import TalkToGPTRequest
from nanogate.server.schemas.memory import MemoryRequest
from nanogate.server.schemas.messages import CountTokensRequest, MessagesRequest
from nanogate.server.schemas.moderations import ModerationRequest
from nanogate.server.schemas.responses import ResponsesRequest

__all__ = [
    "ChatCompletionRequest",
    "CountTokensRequest",
    "EmbeddingsRequest",
    "MemoryRequest",
    "MessagesRequest",
    "ModerationRequest",
    "ProviderKeyRequest",
    "ResponsesRequest",
    "TalkToGPTRequest",
]
