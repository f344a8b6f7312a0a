"""The OpenAPI 3.1 description of the desk's JSON API, written by hand (served as JSON)."""

from __future__ import annotations

from typing import Any

from monitor.rules.schema import CATEGORIES

_ERROR = {
    "description": "what to fix",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}


def _json(ref: str, *, array: bool = False) -> dict[str, Any]:
    schema: dict[str, Any] = {"$ref": f"#/components/schemas/{ref}"}
    if array:
        schema = {"type": "array", "items": schema}
    return {"content": {"application/json": {"schema": schema}}}


def _query(name: str, description: str, **schema: Any) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "description": description,
        "schema": schema or {"type": "string"},
    }


def _path(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "integer"}}


_NULLABLE_STRING = {"type": ["string", "null"]}
_POST = {
    "type": "object",
    "required": [
        "id",
        "channel",
        "message_id",
        "date",
        "text",
        "category",
        "rules",
        "spans",
        "link",
        "feedback",
    ],
    "properties": {
        "id": {"type": "integer"},
        "channel": {"type": "string", "description": "username, else the Telegram id"},
        "message_id": {"type": "integer"},
        "date": {"type": "string", "format": "date-time"},
        "edit_date": _NULLABLE_STRING,
        "deleted_at": _NULLABLE_STRING,
        "text": {"type": "string"},
        "flagged": {"type": "boolean"},
        "category": {"type": ["string", "null"], "enum": [*CATEGORIES, None]},
        "score": {"type": ["number", "null"]},
        "rules": {"type": "array", "items": {"type": "string"}},
        "spans": {
            "type": "array",
            "description": "matched [start, end) character offsets in text",
            "items": {"type": "array", "items": {"type": "integer"}},
        },
        "link": {"type": "string"},
        "feedback": {"oneOf": [{"$ref": "#/components/schemas/Feedback"}, {"type": "null"}]},
    },
}
_FEEDBACK = {
    "type": "object",
    "properties": {
        "label": {"type": "string", "enum": ["confirmed", "false_positive", "missed"]},
        "category": {"type": ["string", "null"], "enum": [*CATEGORIES, None]},
        "who": {"type": "string"},
        "at": {"type": "string", "format": "date-time"},
    },
}
_MUTE = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "kind": {"type": "string", "enum": ["channel", "rule"]},
        "target": {"type": "string"},
        "until": _NULLABLE_STRING,
        "created_at": {"type": "string"},
        "who": {"type": "string"},
        "undone_at": _NULLABLE_STRING,
    },
}
_NEW_MUTE = {
    "type": "object",
    "required": ["kind", "target"],
    "properties": {
        "kind": {"type": "string", "enum": ["channel", "rule"]},
        "target": {"type": "string", "description": "@channel, channel id, or rule id"},
        "hours": {"type": ["number", "null"], "description": "none: until undone"},
    },
}
_CHANGE = (
    "State-changing requests need the header `X-Monitor-Desk: 1` (cross-site requests are "
    "refused); beyond loopback every request needs `Authorization: Bearer TOKEN`."
)

OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "monitor desk API", "version": "1", "description": _CHANGE},
    "paths": {
        "/api/posts": {
            "get": {
                "summary": "Stored posts, newest first (keyset paging: X-Next-After header)",
                "parameters": [
                    _query(
                        "flagged",
                        "true (default) or false: the posts not flagged",
                        enum=["true", "false"],
                    ),
                    _query("limit", "page size (1-500, default 50)", type="integer"),
                    _query("category", "only this category", enum=list(CATEGORIES)),
                    _query("channel", "only this channel (@name or id)"),
                    _query("tag", "only the channels with this tag in the config"),
                    _query("since", "from this date (2026-12-01)"),
                    _query("until", "up to this date, inclusive"),
                    _query(
                        "feedback",
                        "current feedback",
                        enum=["none", "confirmed", "false_positive", "missed"],
                    ),
                    _query("after", "the previous page's X-Next-After"),
                ],
                "responses": {"200": _json("Post", array=True), "400": _ERROR},
            }
        },
        "/api/search": {
            "get": {
                "summary": "Full-text search over every stored post (word forms), newest first",
                "parameters": [
                    _query("q", "the words (all must match, in any form)"),
                    _query("flagged", "only flagged (true) or unflagged (false) posts"),
                    _query("channel", "only this channel (@name)"),
                    _query("since", "from this date"),
                    _query("until", "up to this date, inclusive"),
                    _query("limit", "page size (1-500, default 50)", type="integer"),
                    _query("before", "the previous page's X-Next-Before", type="integer"),
                ],
                "responses": {"200": _json("Hit", array=True), "400": _ERROR},
            }
        },
        "/api/posts/{post_id}": {
            "get": {
                "summary": "One stored post",
                "parameters": [_path("post_id")],
                "responses": {"200": _json("Post"), "404": _ERROR},
            }
        },
        "/api/posts/{post_id}/feedback": {
            "post": {
                "summary": "Judge a post: confirmed, false_positive, or missed (with a category)",
                "parameters": [_path("post_id")],
                "requestBody": {"required": True, **_json("FeedbackIn")},
                "responses": {"201": _json("Feedback"), "400": _ERROR, "404": _ERROR},
            }
        },
        "/api/mutes": {
            "get": {
                "summary": "Mutes in force (?all=1: also expired and undone)",
                "responses": {"200": _json("Mute", array=True)},
            },
            "post": {
                "summary": "Mute a channel or a rule for some hours (or until undone)",
                "requestBody": {"required": True, **_json("MuteIn")},
                "responses": {"201": _json("Mute"), "400": _ERROR},
            },
        },
        "/api/mutes/{mute_id}/undo": {
            "post": {
                "summary": "Undo a mute",
                "parameters": [_path("mute_id")],
                "responses": {"200": _json("Mute"), "404": _ERROR},
            }
        },
    },
    "components": {
        "schemas": {
            "Post": _POST,
            "Feedback": _FEEDBACK,
            "FeedbackIn": {
                "type": "object",
                "required": ["label"],
                "properties": {
                    "label": _FEEDBACK["properties"]["label"],  # type: ignore[index]
                    "category": _FEEDBACK["properties"]["category"],  # type: ignore[index]
                },
            },
            "Hit": {
                "type": "object",
                "properties": {
                    "id": {"type": "integer"},
                    "channel": {"type": "string"},
                    "message_id": {"type": "integer"},
                    "date": {"type": "string", "format": "date-time"},
                    "flagged": {"type": "boolean"},
                    "category": {"type": ["string", "null"]},
                    "snippet": {"type": "string"},
                    "highlights": _POST["properties"]["spans"],  # type: ignore[index]
                    "link": {"type": "string"},
                    "feedback": _POST["properties"]["feedback"],  # type: ignore[index]
                },
            },
            "Mute": _MUTE,
            "MuteIn": _NEW_MUTE,
            "Error": {"type": "object", "properties": {"error": {"type": "string"}}},
        }
    },
}
