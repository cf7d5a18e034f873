"""The words the JSON API's description is written in (``live.web.openapi``): who may
call an operation, what one takes and answers (``Op``), and JSON Schema shorthands."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from typing import Any

Schema = dict[str, Any]

JSON = "application/json"
CSV = "text/csv"


class Access(StrEnum):
    """Who may call an operation (``live.sessions``: one cookie holds both sessions)."""

    PUBLIC = "public"  #: anyone; a session, if sent, may change the answer
    HOST = "host"  #: a signed-in host (where a room is named: its owner or a co-host)
    CITIZEN = "citizen"  #: a signed-in citizen
    ACCOUNT = "account"  #: a host or a citizen, as the operation says
    MODERATOR = "moderator"  #: a monitor (or administrator), signed in as a host or citizen


WHO = {
    Access.PUBLIC: "Anyone may call it.",
    Access.HOST: "A signed-in host; on a room, its owner or a co-host.",
    Access.CITIZEN: "A signed-in citizen.",
    Access.ACCOUNT: "A signed-in citizen, or for a policy poll an official (a host).",
    Access.MODERATOR: "A monitor or administrator, signed in as a host or a citizen.",
}


@dataclass(frozen=True)
class Op:
    """One operation: what it takes and what it answers on success."""

    summary: str
    access: Access
    #: the success body's fields besides ``"ok"`` (each one always there)
    answer: dict[str, Schema] = field(default_factory=dict)
    status: tuple[int, ...] = (200,)
    #: the JSON body's schema, or ``None`` for an operation that reads none
    body: Schema | None = None
    #: other media types the body may have instead (an upload), each with its schema
    uploads: dict[str, Schema] = field(default_factory=dict)
    query: dict[str, Schema] = field(default_factory=dict)
    #: path parameters that are not an id (1 to 32 characters)
    params: dict[str, Schema] = field(default_factory=dict)
    #: a file instead of JSON: the media types the success answer may have
    files: tuple[str, ...] = ()
    #: the success body itself, for an answer that is not ``{"ok": true, ...}``
    whole: Schema | None = None


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(*required: str, **props: Schema) -> Schema:
    """An object with these properties (those named in ``required`` always there)."""
    schema: Schema = {"type": "object", "properties": props}
    if required:
        schema["required"] = list(required)
    return schema


def closed(schema: Schema) -> Schema:
    """``schema`` with no properties but its own."""
    return {**schema, "additionalProperties": False}


def array(items: Schema, **more: Any) -> Schema:
    return {"type": "array", "items": items, **more}


def nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


def text(longest: int, *, required: bool = False) -> Schema:
    """Text of at most ``longest`` characters (a required one not blank)."""
    return {"type": "string", "maxLength": longest, **({"pattern": r"\S"} if required else {})}


def between(low: int, high: int) -> Schema:
    return {"type": "integer", "minimum": low, "maximum": high}


def one_of(values: type[Enum] | Iterable[str]) -> Schema:
    return {"type": "string", "enum": [str(getattr(v, "value", v)) for v in values]}


TEXT: Schema = {"type": "string"}
INT: Schema = {"type": "integer"}
NUMBER: Schema = {"type": "number"}
BOOL: Schema = {"type": "boolean"}
OBJECT: Schema = {"type": "object"}
ANY: Schema = {}
BINARY: Schema = {"type": "string", "format": "binary"}
ID: Schema = {"type": "string", "minLength": 1, "maxLength": 32}
MS: Schema = {"type": "integer", "minimum": 0}
