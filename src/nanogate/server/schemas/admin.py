"""The admin API's request bodies. Unknown fields are refused: a typo in an operator's
request must not silently change nothing."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, ConfigDict, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

from nanogate.core import usd_to_nano
from nanogate.server.schemas._common import Schema, whole
from nanogate.storage._requests import REQUEST_FILTERS

MAX_USD = Decimal(1_000_000_000)
MAX_COUNT = 2**31 - 1
_DECIMAL = re.compile(r"[0-9]+(\.[0-9]{1,9})?")


def dollars(value: Any) -> int:
    """Dollars as a decimal string (``"5"``, ``"0.25"``) or a whole number, up to nine
    decimals and a billion dollars, as nano-dollars; ``ValueError`` saying what is wrong
    otherwise. A JSON fraction is refused: binary floating point cannot hold most
    amounts exactly."""
    value = whole(value)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not _DECIMAL.fullmatch(value.strip()):
        raise ValueError('expected dollars as a decimal string like "5.00" (at most nine decimals)')
    if Decimal(value) > MAX_USD:
        raise ValueError("more than the maximum, 1000000000 USD")
    return usd_to_nano(value.strip())


def _nano_dollars(value: Any) -> int:
    try:
        return dollars(value)
    except ValueError as exc:
        raise PydanticCustomError("usd", str(exc)) from None


def moment(value: Any) -> datetime:
    """An ISO 8601 time as an aware UTC datetime (UTC if it names no offset);
    ``ValueError`` otherwise."""
    try:
        if not isinstance(value, str):
            raise ValueError
        parsed = datetime.fromisoformat(value.strip())
        return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except (ValueError, OverflowError):
        raise ValueError("expected an ISO 8601 time like 2027-01-31T00:00:00Z") from None


def _moment(value: Any) -> datetime:
    try:
        return moment(value)
    except ValueError as exc:
        raise PydanticCustomError("moment", str(exc)) from None


_FRACTION = r"(\.[0-9]{1,9})?"
_BELOW_MAX = r"[0-9]{1,9}"
_AT_MAX = r"1000000000(\.0{1,9})?"
_POSITIVE_FRACTION = "|".join(f"0{{{k}}}[1-9][0-9]{{0,{8 - k}}}" for k in range(9))
USD_PATTERN = rf"^({_BELOW_MAX}{_FRACTION}|{_AT_MAX})$"
"""Dollars from 0 to a billion, with at most nine decimals."""
POSITIVE_USD_PATTERN = rf"^(0*[1-9][0-9]{{0,8}}{_FRACTION}|0+\.({_POSITIVE_FRACTION})|{_AT_MAX})$"
"""The same, above zero."""


def _usd_schema(pattern: str, minimum: int) -> dict[str, Any]:
    return {
        "anyOf": [
            {"type": "string", "pattern": pattern},
            {"type": "integer", "minimum": minimum, "maximum": int(MAX_USD)},
        ]
    }


USD = Annotated[int, BeforeValidator(_nano_dollars), WithJsonSchema(_usd_schema(USD_PATTERN, 0))]
"""Dollars, held as nano-dollars."""
Moment = Annotated[
    datetime,
    BeforeValidator(_moment),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]


Count = Annotated[int, Field(ge=1, le=MAX_COUNT), BeforeValidator(whole)]


class AdminSchema(Schema):
    model_config = ConfigDict(strict=True, frozen=True, extra="forbid")


class CreateAccountRequest(AdminSchema):
    name: str | None = Field(None, min_length=1, max_length=200)
    balance_usd: USD = 0


PositiveUSD = Annotated[
    int,
    BeforeValidator(_nano_dollars),
    Field(gt=0),
    WithJsonSchema(_usd_schema(POSITIVE_USD_PATTERN, 1)),
]


class TopupRequest(AdminSchema):
    amount_usd: PositiveUSD


class CreateKeyRequest(AdminSchema):
    account_id: str = Field(min_length=1, max_length=40)
    name: str | None = Field(None, min_length=1, max_length=200)
    models: list[Annotated[str, Field(min_length=1, max_length=200)]] | None = Field(
        None, max_length=1000
    )
    daily_requests: Count | None = None
    daily_usd: USD | None = None
    rps: Count | None = None
    expires_at: Moment | None = None


class FilterError(ValueError):
    """A request-log filter whose text is not a value it takes."""

    def __init__(self, param: str, expected: str, text: str) -> None:
        super().__init__(f"{param}: {expected}")
        self.param = param
        self.expected = expected
        self.text = text


def request_filters(given: Mapping[str, str | None]) -> dict[str, object]:
    """The request log's filters (:data:`~nanogate.storage._requests.REQUEST_FILTERS`)
    from their text, as a query string or a form gives them: ``status`` an HTTP status,
    ``since`` and ``until`` ISO 8601 times, the rest as they are; empty text is no
    filter. Raises :class:`FilterError` for the first that is not a value."""
    filters: dict[str, object] = {}
    for name in REQUEST_FILTERS:
        text = given.get(name) or ""
        if not text:
            continue
        if name == "status":
            if not (text.isdigit() and 100 <= int(text) <= 599):
                raise FilterError(name, "expected an HTTP status from 100 to 599", text)
            filters[name] = int(text)
        elif name in ("since", "until"):
            try:
                filters[name] = moment(text)
            except ValueError as exc:
                raise FilterError(name, str(exc), text) from None
        else:
            filters[name] = text
    return filters
