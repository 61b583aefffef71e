"""The base of response models: the pydantic models that both build an answer's JSON (a handler
dumps one instead of writing a dict) and describe it in /openapi.json (gateway.openapi reads
their serialization schema), so the document and the answer cannot disagree. Also the value
types answers share: exact money as a decimal string, days, timestamps, unit counts."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    model_serializer,
)

# Money stays the decimal string the services computed (never a float); the pattern is checked
# when an answer is built, so a malformed amount fails loudly instead of reaching a client.
Money = Annotated[str, Field(pattern=r"^-?\d+(\.\d+)?$", description="USD, exact decimal")]
Day = Annotated[str, Field(json_schema_extra={"format": "date"})]
Timestamp = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
Units = dict[str, int]


class AnswerInvalid(RuntimeError):
    """An answer that does not fit its model: the server's fault (a 500), never a client's 400,
    which is what the app makes of a pydantic ValidationError. Names the fields, not the values."""

    def __init__(self, model: str, exc: ValidationError) -> None:
        where = ", ".join(".".join(map(str, e["loc"])) for e in exc.errors(include_input=False)[:5])
        super().__init__(f"{model} does not fit its model at {where}")


class Answer(BaseModel):
    """A JSON object of an answer: every field is always present (null when it has no value), no
    other field appears. Build it and return `dump()`."""

    model_config = ConfigDict(
        extra="forbid", populate_by_name=True, json_schema_serialization_defaults_required=True
    )

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise AnswerInvalid(type(self).__name__, exc) from None

    @classmethod
    def model_validate(cls, obj: Any, **kwargs: Any) -> Any:
        try:
            return super().model_validate(obj, **kwargs)
        except ValidationError as exc:
            raise AnswerInvalid(cls.__name__, exc) from None

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


# The default of a Sparse field that is absent unless the handler sets it (typed Any, so a field
# declared `str` may start unset; the answer never carries it as null).
NOT_SET: Any = None


class Sparse(Answer):
    """An answer object whose fields with a default appear only when the handler set them (e.g. a
    usage group has the keys it was grouped by)."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=False)

    # No return annotation: pydantic would document the annotated type instead of the fields.
    @model_serializer(mode="wrap")
    def _only_set(self, handler: SerializerFunctionWrapHandler):
        shown = {
            key
            for name, field in type(self).model_fields.items()
            if name in self.model_fields_set or field.is_required()
            for key in (name, field.alias)
        }
        return {k: v for k, v in handler(self).items() if k in shown}
