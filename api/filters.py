"""List filters from query parameters, the same on every list page and API route: an empty value means
"any". A filter form's "Any" option sends `status=` (an untouched text box `q=`), so
`?q=&status=&blocked=` lists everything instead of answering 422.

Use `Filter[T]` for a query parameter (or a field of a query model) that narrows a list:

    status_: Annotated[Filter[LaunchStatus], Query(alias="status")] = None
    pm: Annotated[Filter[UserName], Query()] = None

A length limit goes in the filtered type (UserName, IdText, SearchText, ActionText below), not in
Query(): there it would also apply to the None of an empty value. The value is None when the parameter
is missing or empty, and a T otherwise (invalid values still get a 422). The OpenAPI schema says so
(`T`, `null` or the empty string), so clients and schemathesis see the rule the server applies.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler, StringConstraints
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema

T = TypeVar("T")

_BLANK: dict[str, Any] = {"type": "string", "maxLength": 0}


def blank_is_any(value: object) -> object:
    """None for an empty query value (the filter is not applied), the value itself otherwise."""
    return None if value == "" else value


class BlankIsAny:
    """Annotation: an empty string validates as None, and the JSON schema also allows it."""

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.no_info_before_validator_function(blank_is_any, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        generated = handler(schema)
        options = generated.get("anyOf")
        if isinstance(options, list) and set(generated) <= {"anyOf", "title", "description", "default"}:
            return {**generated, "anyOf": [*options, _BLANK]}
        return {"anyOf": [generated, _BLANK]}


Filter = Annotated[T | None, BlankIsAny()]

IdText = Annotated[str, StringConstraints(max_length=36)]  # a launch or task id
UserName = Annotated[str, StringConstraints(max_length=100)]
SearchText = Annotated[str, StringConstraints(max_length=120)]  # text in a product name
ActionText = Annotated[str, StringConstraints(max_length=60)]  # an audit action
