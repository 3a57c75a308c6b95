"""An optional generative language model behind any OpenAI-compatible chat endpoint.

Only the transport lives here (a client, its errors, a cache of answers, a reachability
check); what the engine asks the model and how it falls back is `engine.generative`.
"""

from sessionrec.llm.cache import ChatCache, prompt_key
from sessionrec.llm.client import (
    API_KEY_ENV_VARS,
    SPEC_FORM,
    ChatClient,
    LLMError,
    OpenAIChatClient,
    chat_url,
    check_reachable,
    parse_llm_spec,
)

__all__ = [
    "API_KEY_ENV_VARS",
    "SPEC_FORM",
    "ChatCache",
    "ChatClient",
    "LLMError",
    "OpenAIChatClient",
    "chat_url",
    "check_reachable",
    "parse_llm_spec",
    "prompt_key",
]
