"""The example's router library (examples/petstore/lib/router)."""

from __future__ import annotations

import pytest
from petstore_harness import EXAMPLE, load_module

router = load_module("petstore_example_router", EXAMPLE / "lib" / "router" / "__init__.py")


def make() -> router.Router:
    r = router.Router()
    r.add("GET", "/api/pets", "list-pets", name="pets")
    r.add("POST", "/api/pets", "create-pet")
    r.add("GET", "/api/pets/{petId}", "get-pet", name="pet")
    r.add("GET", "/api/pets/mine", "my-pets")
    r.add("GET", "/api/users/{userId:int}/posts/{postId:int}", "user-post")
    r.add("GET", "/static/{rest:path}", "static")
    return r


def test_literal_route_and_parameters() -> None:
    r = make()
    m = r.match("GET", "/api/pets/7")
    assert m.handler == "get-pet" and m.params == {"petId": "7"}
    assert r.match("GET", "/api/pets").handler == "list-pets"
    assert r.match("POST", "/api/pets").handler == "create-pet"


def test_literal_segment_beats_parameter_whatever_the_order_of_registration() -> None:
    assert make().match("GET", "/api/pets/mine").handler == "my-pets"


def test_int_converter_and_several_parameters() -> None:
    m = make().match("GET", "/api/users/3/posts/14")
    assert m.params == {"userId": 3, "postId": 14}
    with pytest.raises(router.NotFound):
        make().match("GET", "/api/users/x/posts/14")


def test_path_converter_takes_the_rest_and_unquotes() -> None:
    assert make().match("GET", "/static/a/b%20c.js").params == {"rest": "a/b c.js"}
    with pytest.raises(router.NotFound):
        make().match("GET", "/static/")


def test_method_dispatch_405_with_allowed_methods_and_head_falls_back_to_get() -> None:
    r = make()
    with pytest.raises(router.MethodNotAllowed) as err:
        r.match("DELETE", "/api/pets")
    assert err.value.allowed == ("GET", "HEAD", "POST")
    assert r.match("HEAD", "/api/pets/1").handler == "get-pet"


def test_unknown_paths() -> None:
    r = make()
    for path in ("/", "/api", "/api/pets/1/extra", "api/pets", "/api/pets/"):
        with pytest.raises(router.NotFound):
            r.match("GET", path)


def test_conflicting_routes_are_rejected() -> None:
    r = make()
    with pytest.raises(router.RouteConflict):
        r.add("GET", "/api/pets/{other}", "dup")
    r.add("PUT", "/api/pets/{other}", "put-ok")  # another method is not a conflict


@pytest.mark.parametrize(
    "template",
    ["api/pets", "/a//b", "/a/{x}/{x}", "/a/{rest:path}/b", "/a/pre{x}", "/a/{x:float}", "/a/{1x}"],
)
def test_malformed_templates(template: str) -> None:
    with pytest.raises(router.TemplateError):
        router.Router().add("GET", template, "h")


def test_url_for_is_the_inverse_of_match() -> None:
    r = make()
    assert r.url_for("pet", petId=5) == "/api/pets/5"
    assert r.match("GET", r.url_for("pet", petId=5)).params == {"petId": "5"}
    with pytest.raises(router.RouterError):
        r.url_for("pet")


def test_decorator_and_iteration() -> None:
    r = router.Router()

    @r.route("GET", "/x/{id:int}")
    def handler() -> None: ...

    assert r.match("GET", "/x/1").handler is handler
    assert [route.template for route in r] == ["/x/{id:int}"]
    assert len(r) == 1
