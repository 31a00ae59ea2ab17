"""Route selection for HTTP APIs, as API Gateway documents it (http-api-develop-routes.html).

Route keys are ``METHOD /path`` (``ANY`` matches every method, ``{name}`` one path
segment, ``{name+}`` the rest of the path) or ``$default``. Among matching routes the
most specific wins: a full match before a greedy ``{proxy+}`` match, literal segments
before path variables, a method before ``ANY``; ``$default`` catches what is left.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT = "$default"
VARIABLE = re.compile(r"^\{([A-Za-z0-9._-]+)(\+?)\}$")


@dataclass(frozen=True)
class Route:
    route_key: str
    target: str
    method: str
    pattern: re.Pattern | None
    rank: tuple
    names: tuple[str, ...] = ()  # path variable names, in the order of the pattern's groups g0, g1, ...

    @property
    def path(self) -> str:
        return self.route_key.split(" ", 1)[1] if " " in self.route_key else self.route_key


def compile_route(route_key: str, target: str) -> Route | None:
    """A Route for ``route_key``, or None when the key is not an HTTP route."""
    if route_key == DEFAULT:
        return Route(route_key, target, "ANY", None, (9, 0, 0, 0))
    method, _, path = route_key.partition(" ")
    if not path.startswith("/"):
        return None
    parts, names, greedy = [], [], 0
    for segment in path.strip("/").split("/") if path != "/" else []:
        variable = VARIABLE.match(segment)
        if not variable:
            parts.append(re.escape(segment))
            continue
        parts.append(f"(?P<g{len(names)}>{'.+' if variable.group(2) else '[^/]+'})")
        names.append(variable.group(1))
        if variable.group(2):
            greedy = 1
            break
    pattern = re.compile("^/" + "/".join(parts) + "$")
    literal = sum(len(part) for part in parts if not part.startswith("(?P"))
    rank = (greedy, len(names) - greedy, method.upper() == "ANY", -literal)
    return Route(route_key, target, method.upper(), pattern, rank, tuple(names))


class RouteMatcher:
    """Picks the route for a request among an API's routes."""

    def __init__(self, routes: list[tuple[str, str]]):
        compiled = [compile_route(key, target) for key, target in routes]
        self.routes = sorted((route for route in compiled if route), key=lambda route: route.rank)

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        """(route, path parameters) for a request, or None (API Gateway then answers 404 Not Found)."""
        method = method.upper()
        for route in self.routes:
            if route.pattern is None:
                return route, {}
            if route.method not in (method, "ANY"):
                continue
            found = route.pattern.match(path)
            if found:
                return route, {name: found.group(f"g{index}") for index, name in enumerate(route.names)}
        return None
