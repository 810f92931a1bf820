"""Pydantic pieces shared by several domains."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any, ClassVar, Literal, get_args, get_origin

from pydantic import (
    AfterValidator,
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    UrlConstraints,
    model_validator,
)
from pydantic_core import PydanticCustomError

Language = Literal["pt-BR", "es", "en"]
CountryCode = Annotated[
    str, StringConstraints(min_length=2, max_length=2, pattern=r"^[A-Za-z]{2}$", to_upper=True)
]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
# A region's name: stored in 100 characters (events.state).
StateName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


def _written_within(limit: int) -> AfterValidator:
    def check(url: AnyHttpUrl) -> AnyHttpUrl:
        # Normalising may lengthen an address (percent-encoding, a trailing slash): the
        # limit holds for what is stored.
        if len(str(url)) > limit:
            raise ValueError(f"the address is longer than {limit} characters once written out")
        return url

    return AfterValidator(check)


# A web address as stored: in 2,000 characters (webhook endpoints, a store's links).
WebAddress = Annotated[AnyHttpUrl, UrlConstraints(max_length=2000), _written_within(2000)]
# A push service's endpoint: in 1,000 (push_subscriptions.endpoint).
PushEndpoint = Annotated[AnyHttpUrl, UrlConstraints(max_length=1000), _written_within(1000)]
# A stored row's id. The ids are PostgreSQL ``integer`` columns (SERIAL, 32-bit; SQLite
# takes 64), and comparing one with a larger number fails in the server ("integer out of
# range"): no row can have such an id, so it is a 422 here rather than a 500 there.
RowId = Annotated[int, Field(ge=1, le=2**31 - 1)]


class StrictModel(BaseModel):
    """Input models reject unknown fields, so a typo is a clear 422, not silently ignored,
    and text holding the NUL character (U+0000): PostgreSQL stores no NUL in text, and
    the rule holds on both databases so that a store sees one behaviour. Fields typed
    ``Any`` (payloads kept verbatim, stored as JSON text where a NUL stays escaped) are
    exempt."""

    model_config = ConfigDict(extra="forbid")
    # The fields whose values may hold text (nested models check their own).
    _texts: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls._texts = tuple(
            name for name, field in cls.model_fields.items() if _may_hold_text(field.annotation)
        )

    @model_validator(mode="after")
    def _no_nul(self) -> Any:
        values = self.__dict__
        for name in self._texts:
            value = values[name]
            if value is not None and _holds_nul(value):
                raise PydanticCustomError(
                    "nul_character",
                    "{field} contains the NUL character (U+0000), which text may not hold.",
                    {"field": name},
                )
        return self


def _may_hold_text(annotation: Any) -> bool:
    """Whether a field of type ``annotation`` may hold free text: ``str`` in it, or a
    container of unknown items; not ``Any``, a ``Literal``, an enum or a model."""
    if annotation is Any or get_origin(annotation) is Literal:
        return False
    if isinstance(annotation, type):
        if issubclass(annotation, (BaseModel, Enum)):
            return False
        return issubclass(annotation, (str, list, tuple, set, frozenset, dict))
    return any(_may_hold_text(arg) for arg in get_args(annotation)) or get_origin(annotation) in (
        list,
        tuple,
        set,
        frozenset,
        dict,
    )


def _holds_nul(value: Any) -> bool:
    """Whether ``value`` is text with a NUL, or a list, tuple, set or dict holding one
    (nested models check themselves)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, (list, tuple, set, frozenset)):
        return any(_holds_nul(item) for item in value)
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    return False


class Place(StrictModel):
    city: ShortText | None = None
    state: StateName | None = None
    country: CountryCode | None = None
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)
