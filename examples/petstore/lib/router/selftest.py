"""Self-test run by build-lib before the library is published to build_artifacts/lib."""

from __future__ import annotations

from router import MethodNotAllowed, NotFound, RouteConflict, Router, TemplateError


def _expect(exc: type[BaseException], fn: object, *args: object) -> BaseException:
    try:
        fn(*args)  # type: ignore[operator]
    except exc as err:
        return err
    raise AssertionError(f"expected {exc.__name__} from {fn!r}{args!r}")


def run() -> int:
    r = Router()
    r.add("GET", "/api/pets", "list", name="pets")
    r.add("POST", "/api/pets", "create")
    r.add("GET", "/api/pets/{petId:int}", "get", name="pet")
    r.add("GET", "/api/pets/search", "search")
    r.add("GET", "/files/{rest:path}", "files")
    checks = 0

    m = r.match("GET", "/api/pets/42")
    assert m.handler == "get" and m.params == {"petId": 42}, m
    checks += 1
    assert r.match("GET", "/api/pets/search").handler == "search"
    checks += 1
    assert r.match("HEAD", "/api/pets").handler == "list"
    checks += 1
    assert r.match("GET", "/files/a/b%20c").params == {"rest": "a/b c"}
    checks += 1
    assert r.url_for("pet", petId=3) == "/api/pets/3"
    checks += 1
    err = _expect(MethodNotAllowed, r.match, "DELETE", "/api/pets")
    assert isinstance(err, MethodNotAllowed) and err.allowed == ("GET", "HEAD", "POST"), err
    checks += 1
    _expect(NotFound, r.match, "GET", "/api/pets/x")
    _expect(NotFound, r.match, "GET", "/api/pets/1/extra")
    _expect(NotFound, r.match, "GET", "/nope")
    checks += 1
    _expect(RouteConflict, r.add, "GET", "/api/pets/{other:int}", "dup")
    _expect(TemplateError, r.add, "GET", "api/pets", "x")
    _expect(TemplateError, r.add, "GET", "/a/{rest:path}/b", "x")
    _expect(TemplateError, r.add, "GET", "/a/x{y}", "x")
    checks += 1
    return checks


if __name__ == "__main__":
    print(f"router self-test: {run()} checks passed")
