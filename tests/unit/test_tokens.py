"""The offline tokenizer: lossless splits, bounded pieces, and the chat prompt estimate."""

from __future__ import annotations

import random

import pytest

from nanogate.core._tokens import (
    IMAGE_TOKENS,
    IMAGE_TOKENS_LOW,
    MESSAGE_OVERHEAD,
    REPLY_PRIMING,
    count_chat_tokens,
    count_content_tokens,
    count_part_tokens,
    count_tokens,
    count_value_tokens,
    tokenize,
)

TEXTS = [
    "",
    " ",
    "Hello, world!",
    "The quick brown fox jumps over the lazy dog.",
    "I'm sure they'll say we've done what you'd've done.",
    "internationalization and pneumonoultramicroscopicsilicovolcanoconiosis",
    "1234567890 and 3.14159 and -42",
    "你好世界，今天天气很好。",
    "日本語のテキストとカタカナ、한국어 문장",
    "mixed 中文 and English世界words",
    "emoji 🙂🚀 and flags 🇫🇷 and ZWJ 👩‍💻",
    "  leading and trailing  ",
    "tabs\tand\nnewlines\r\n\n\nand   runs   of   spaces",
    "snake_case_identifier __dunder__ x_y",
    "naïve café résumé Ελληνικά кириллица",
    "def f(x):\n    return {'a': [1, 2, 3]}  # comment\n",
    "!!!??? ... --- *** ###",
    "\u00a0non-breaking\u2003em-space",
]


def random_texts(count: int) -> list[str]:
    """Reproducible random strings drawn from every kind of character above."""
    alphabet = "".join(sorted(set("".join(TEXTS)))) + "abcdefghijklmnop   0123456789"
    rng = random.Random(20240609)
    return ["".join(rng.choices(alphabet, k=rng.randint(0, 80))) for _ in range(count)]


@pytest.mark.parametrize("text", TEXTS)
def test_tokenize_round_trips(text: str) -> None:
    """Joining the tokens gives back the input exactly, and no token is empty."""
    tokens = tokenize(text)
    assert "".join(tokens) == text
    assert all(tokens)


@pytest.mark.parametrize("text", TEXTS)
def test_count_tokens_is_len_of_tokenize(text: str) -> None:
    """count_tokens(t) agrees with len(tokenize(t))."""
    assert count_tokens(text) == len(tokenize(text))


@pytest.mark.parametrize("text", TEXTS)
def test_pieces_are_at_most_six_characters(text: str) -> None:
    """No token is longer than six characters (whitespace runs excepted)."""
    assert all(len(token) <= 6 for token in tokenize(text) if token.strip())


def test_properties_hold_for_random_text() -> None:
    """Round trip, count agreement and piece length hold for 500 random mixed strings."""
    for text in random_texts(500):
        tokens = tokenize(text)
        assert "".join(tokens) == text, text
        assert count_tokens(text) == len(tokens), text
        assert all(len(token) <= 6 for token in tokens if token.strip()), text


def test_words_keep_their_leading_space() -> None:
    """Words carry their leading space, as GPT-style tokenizers pre-tokenize them."""
    assert tokenize("Hello, world!") == ["Hello", ",", " world", "!"]


def test_contractions_are_their_own_tokens() -> None:
    """English contractions split off the word."""
    assert tokenize("I'm") == ["I", "'m"]
    assert tokenize("we'll") == ["we", "'ll"]


def test_long_words_are_cut_into_pieces_of_six() -> None:
    """A long word is cut into six-character pieces."""
    assert tokenize("internationalization") == ["intern", "ationa", "lizati", "on"]
    assert tokenize("abcdef") == ["abcdef"]
    assert tokenize("abcdefg") == ["abcdef", "g"]


def test_digits_are_grouped_by_three() -> None:
    """Digit runs are split into groups of three from the left."""
    assert tokenize("1234567") == ["123", "456", "7"]
    assert tokenize("abc123def") == ["abc", "123", "def"]


def test_cjk_is_one_token_per_character() -> None:
    """Chinese, Japanese and Korean characters are one token each."""
    assert tokenize("你好世界") == ["你", "好", "世", "界"]
    assert tokenize("カタカナ") == list("カタカナ")
    assert tokenize("한국어") == list("한국어")
    assert count_tokens("你好世界") == 4


def test_cjk_inside_a_word_splits_around_it() -> None:
    """Latin letters next to CJK characters stay together; each CJK character stands alone."""
    assert tokenize("今日はhello世界") == ["今", "日", "は", "hello", "世", "界"]


def test_empty_text_has_no_tokens() -> None:
    """The empty string is zero tokens."""
    assert tokenize("") == []
    assert count_tokens("") == 0


# The chat prompt estimate ------------------------------------------------------------


def test_chat_framing() -> None:
    """Each message costs 3 tokens of framing plus its content; the reply adds 3."""
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hello, world!"},
    ]
    expected = REPLY_PRIMING + 2 * MESSAGE_OVERHEAD + count_tokens("Be brief.") + 4
    assert (MESSAGE_OVERHEAD, REPLY_PRIMING) == (3, 3)
    assert count_chat_tokens(messages) == expected


def test_empty_conversation_is_the_priming() -> None:
    """No messages is just the reply priming."""
    assert count_chat_tokens([]) == 3
    assert count_chat_tokens([{"role": "user", "content": ""}]) == 6


def test_name_adds_one_token() -> None:
    """A message's name adds one token."""
    plain = [{"role": "user", "content": "hi"}]
    named = [{"role": "user", "content": "hi", "name": "bob"}]
    assert count_chat_tokens(named) == count_chat_tokens(plain) + 1


def test_content_parts_are_summed() -> None:
    """A list of text parts counts the same as its texts."""
    parts = [{"type": "text", "text": "Hello,"}, {"type": "text", "text": " world!"}]
    assert count_content_tokens(parts) == count_tokens("Hello,") + count_tokens(" world!")


@pytest.mark.parametrize(
    ("part", "tokens"),
    [
        ({"type": "image_url", "image_url": {"url": "https://x/y.png"}}, 765),
        ({"type": "image_url", "image_url": {"url": "https://x/y.png", "detail": "high"}}, 765),
        ({"type": "image_url", "image_url": {"url": "https://x/y.png", "detail": "low"}}, 85),
        ({"type": "input_image", "image_url": "https://x/y.png"}, 765),
        ({"type": "input_image", "image_url": "https://x/y.png", "detail": "low"}, 85),
        ({"type": "image", "source": {"type": "url", "url": "https://x/y.png"}}, 765),
    ],
    ids=["chat", "chat-high", "chat-low", "responses", "responses-low", "anthropic"],
)
def test_image_parts(part: dict[str, object], tokens: int) -> None:
    """An image costs 765 tokens, or 85 with detail low, whatever the dialect."""
    assert (IMAGE_TOKENS, IMAGE_TOKENS_LOW) == (765, 85)
    assert count_part_tokens(part) == tokens


def test_image_in_a_chat_message() -> None:
    """An image part in a message adds its fixed cost to the estimate."""
    text = [{"role": "user", "content": [{"type": "text", "text": "What is this?"}]}]
    image = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is this?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
            ],
        }
    ]
    assert count_chat_tokens(image) == count_chat_tokens(text) + 765


def test_tools_are_counted() -> None:
    """Tool definitions add the tokens of every key and string in them."""
    messages = [{"role": "user", "content": "Weather in Paris?"}]
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
            },
        }
    ]
    assert count_chat_tokens(messages, tools) == (
        count_chat_tokens(messages) + count_value_tokens(tools)
    )
    assert count_value_tokens(tools) > 10


def test_tool_calls_are_counted() -> None:
    """An assistant message's tool calls add their tokens."""
    call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    plain = [{"role": "assistant", "content": None}]
    calling = [{"role": "assistant", "content": None, "tool_calls": [call]}]
    assert count_chat_tokens(calling) == count_chat_tokens(plain) + count_value_tokens(call)


def test_count_value_tokens() -> None:
    """JSON-like values count keys and strings; numbers by their text; null and booleans as 1."""
    assert count_value_tokens("Hello, world!") == 4
    assert count_value_tokens({"name": "x"}) == 2
    assert count_value_tokens([None, True, False]) == 3
    assert count_value_tokens(1234567) == 3
    assert count_value_tokens(object()) == 0
