"""API Gateway path templates: ``/v1/contacts/{contact_id}``, ``/files/{proxy+}``.

As in API Gateway, the most specific route wins segment by segment: a literal segment beats a
``{param}``, which beats a greedy ``{proxy+}``; so ``/v1/contacts/lookup`` never reaches
``/v1/contacts/{contact_id}``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

_PARAM = re.compile(r"^\{([A-Za-z0-9_.-]+)(\+?)\}$")
_LITERAL, _PARAMETER, _GREEDY = 0, 1, 2


def _segments(path: str) -> list[str]:
    return [segment for segment in path.strip("/").split("/") if segment]


@dataclass(frozen=True)
class Match(Generic[T]):
    target: T
    resource: str
    path_parameters: dict[str, str]


class Routes(Generic[T]):
    """Path templates with their targets, per HTTP method (``ANY`` matches every method)."""

    def __init__(self, routes: Iterable[tuple[str, str, T]]) -> None:
        self._routes = [
            (method.upper(), resource, _segments(resource), target) for method, resource, target in routes
        ]

    def match(self, method: str, path: str) -> Match[T] | list[str]:
        """The route for ``method`` on the most specific matching resource, else the methods that
        resource allows (an empty list when no resource matches the path).

        Like API Gateway, the resource is chosen first: ``GET /v1/contacts/lookup`` does not fall
        back to ``GET /v1/contacts/{contact_id}`` when only ``POST /v1/contacts/lookup`` exists.
        """
        segments = _segments(path)
        best: tuple[int, ...] | None = None
        on_best: list[tuple[str, str, T, dict[str, str]]] = []
        for route_method, resource, template, target in self._routes:
            matched = _match(template, segments)
            if matched is None:
                continue
            rank, params = matched
            if best is None or rank < best:
                best, on_best = rank, []
            if rank == best:
                on_best.append((route_method, resource, target, params))
        for route_method, resource, target, params in on_best:
            if route_method in (method.upper(), "ANY"):
                return Match(target, resource, params)
        return sorted({route_method for route_method, *_ in on_best})


def _match(template: list[str], segments: list[str]) -> tuple[tuple[int, ...], dict[str, str]] | None:
    rank: list[int] = []
    params: dict[str, str] = {}
    for index, part in enumerate(template):
        param = _PARAM.match(part)
        if param and param.group(2):  # {proxy+}: the rest of the path, at least one segment
            if index >= len(segments) or index != len(template) - 1:
                return None
            params[param.group(1)] = "/".join(segments[index:])
            return (*rank, _GREEDY), params
        if index >= len(segments):
            return None
        if param:
            params[param.group(1)] = segments[index]
            rank.append(_PARAMETER)
        elif part == segments[index]:
            rank.append(_LITERAL)
        else:
            return None
    return (tuple(rank), params) if len(template) == len(segments) else None
