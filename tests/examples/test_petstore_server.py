"""The packaged pet-store server, run as a real subprocess from the staged image directory."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

from petstore_harness import Server

IMMUTABLE = "public, max-age=31536000, immutable"


def get_json(server: Server, path: str) -> tuple[int, object]:
    status, _, body = server.request("GET", path)
    return status, json.loads(body)


def post_json(server: Server, path: str, payload: object) -> tuple[int, object]:
    status, _, body = server.request(
        "POST", path, json.dumps(payload).encode(), {"Content-Type": "application/json"}
    )
    return status, json.loads(body)


def raw_exchange(server: Server, request: bytes) -> bytes:
    """Send bytes, read the whole answer until the server closes."""
    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_index_is_the_ui_and_references_hashed_assets(server: Server) -> None:
    status, headers, body = server.request("GET", "/")
    assert status == 200
    assert headers["content-type"].startswith("text/html")
    html = body.decode()
    assert '<div id="root">' in html
    for element_id in ("stats", "pets", "users"):
        assert f'id="{element_id}"' in html
    assets = re.findall(r'(?:src|href)="(/assets/index-[0-9a-f]{8}\.(?:js|css))"', html)
    assert {Path(a).suffix for a in assets} == {".js", ".css"}


def test_assets_have_content_types_and_long_cache_headers(server: Server) -> None:
    html = server.request("GET", "/")[2].decode()
    js = re.search(r'src="(/assets/[^"]+\.js)"', html).group(1)  # type: ignore[union-attr]
    css = re.search(r'href="(/assets/[^"]+\.css)"', html).group(1)  # type: ignore[union-attr]
    status, headers, body = server.request("GET", js)
    assert status == 200
    assert headers["content-type"].startswith("text/javascript")
    assert headers["cache-control"] == IMMUTABLE
    assert b"PetApi" in body
    status, headers, _ = server.request("GET", css)
    assert status == 200
    assert headers["content-type"].startswith("text/css")
    assert headers["cache-control"] == IMMUTABLE
    # index.html itself must be revalidated, or browsers would keep pointing at old hashes.
    assert server.request("GET", "/")[1]["cache-control"] == "no-cache"


def test_unknown_paths_are_404_not_the_index(server: Server) -> None:
    for path in ("/nope", "/assets/index-00000000.js", "/pets", "/api/nope", "/index.htm"):
        status, headers, body = server.request("GET", path)
        assert status == 404, path
        assert headers["content-type"] == "application/json"
        assert b'<div id="root">' not in body


def test_docs_serve_swagger_ui_offline(server: Server) -> None:
    status, headers, body = server.request("GET", "/docs")
    assert status == 200
    assert headers["content-type"].startswith("text/html")
    page = body.decode()
    assert "swagger-ui" in page
    assert "/openapi.yaml" in page
    assert not re.findall(r'(?:src|href)="(?:https?:)?//', page), "Swagger UI must not load from a CDN"
    for ref in re.findall(r'(?:src|href)="(/docs/[^"]+)"', page):
        status, headers, body = server.request("GET", ref)
        assert status == 200, ref
        assert len(body) > 100
    status, headers, body = server.request("GET", "/docs/swagger-ui-bundle.js")
    assert headers["content-type"].startswith("text/javascript")
    assert b"SwaggerUIBundle" in body


def test_openapi_document_is_served(server: Server, built_example: Path) -> None:
    status, headers, body = server.request("GET", "/openapi.yaml")
    assert status == 200
    assert headers["content-type"] == "application/yaml"
    assert body == (built_example / "openapi.yaml").read_bytes()


def test_health(server: Server) -> None:
    status, payload = get_json(server, "/health")
    assert status == 200
    assert payload["status"] == "ok"  # type: ignore[index]


def test_list_get_create_pets(server: Server) -> None:
    status, pets = get_json(server, "/api/pets")
    assert status == 200
    assert isinstance(pets, list) and len(pets) >= 6
    status, pet = get_json(server, f"/api/pets/{pets[0]['id']}")
    assert status == 200 and pet == pets[0]
    status, created = post_json(server, "/api/pets", {"name": "Biscuit", "species": "dog", "tags": ["puppy"]})
    assert status == 201
    assert created["name"] == "Biscuit" and created["status"] == "available"  # type: ignore[index]
    status, fetched = get_json(server, f"/api/pets/{created['id']}")  # type: ignore[index]
    assert fetched == created
    status, only_dogs = get_json(server, "/api/pets?species=dog&limit=100")
    assert status == 200 and {p["species"] for p in only_dogs} == {"dog"}  # type: ignore[union-attr]
    assert get_json(server, "/api/pets/9999")[0] == 404


def test_list_get_create_users_and_posts(server: Server) -> None:
    status, users = get_json(server, "/api/users")
    assert status == 200 and len(users) >= 4  # type: ignore[arg-type]
    status, user = post_json(server, "/api/users", {"username": "newbie", "email": "new@example.com"})
    assert status == 201 and user["role"] == "customer"  # type: ignore[index]
    assert get_json(server, f"/api/users/{user['id']}")[1] == user  # type: ignore[index]
    status, post = post_json(server, "/api/posts", {"authorId": user["id"], "title": "Hi", "body": "Hello"})  # type: ignore[index]
    assert status == 201 and post["createdAt"].endswith("Z")  # type: ignore[index]
    status, posts = get_json(server, "/api/posts?limit=1")
    assert posts == [post]  # newest first
    assert get_json(server, f"/api/posts/{post['id']}")[1] == post  # type: ignore[index]


def test_stats(server: Server) -> None:
    status, stats = get_json(server, "/api/stats")
    assert status == 200
    assert stats["pets"] == len(get_json(server, "/api/pets?limit=100")[1])  # type: ignore[arg-type, index]
    assert sum(stats["petsByStatus"].values()) == stats["pets"]  # type: ignore[index]


def test_invalid_requests_get_400_with_a_message(server: Server) -> None:
    cases = [
        ("POST", "/api/pets", {"name": "", "species": "dragon"}, "body.name"),
        ("POST", "/api/pets", {"species": "cat"}, "missing required property 'name'"),
        ("POST", "/api/pets", {"name": "X", "species": "cat", "age": "old"}, "expected integer"),
        ("POST", "/api/pets", {"name": "X", "species": "cat", "colour": "red"}, "unknown property"),
        ("POST", "/api/users", {"username": "ab", "email": "ab@example.com"}, "at least 3"),
        ("POST", "/api/users", {"username": "abc", "email": "not-an-email"}, "valid email"),
        ("POST", "/api/posts", {"authorId": 1, "title": "x" * 121, "body": "b"}, "at most 120"),
        ("POST", "/api/posts", {"authorId": 999, "title": "t", "body": "b"}, "does not exist"),
        ("GET", "/api/pets?limit=0", None, "limit"),
        ("GET", "/api/pets?status=lost", None, "must be one of"),
        ("GET", "/api/pets/abc", None, "expected integer"),
    ]
    for method, path, payload, needle in cases:
        body = json.dumps(payload).encode() if payload is not None else None
        headers = {"Content-Type": "application/json"} if body else {}
        status, _, raw = server.request(method, path, body, headers)
        assert status == 400, (method, path, payload)
        error = json.loads(raw)
        assert needle in error["message"], (error, needle)
    status, _, raw = server.request("POST", "/api/pets", b"{not json", {"Content-Type": "application/json"})
    assert status == 400 and "invalid JSON" in json.loads(raw)["message"]


def test_wrong_method_is_405_with_allow(server: Server) -> None:
    status, headers, _ = server.request("DELETE", "/api/pets")
    assert status == 405
    assert "GET" in headers["allow"] and "POST" in headers["allow"]


def test_many_headers_get_431_and_the_server_stays_up(server: Server) -> None:
    many = b"".join(b"X-Header-%d: value\r\n" % i for i in range(200))
    answer = raw_exchange(server, b"GET / HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n")
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:80]
    assert b'"error"' in answer
    assert server.request("GET", "/health")[0] == 200


def test_oversized_headers_get_431_and_the_server_stays_up(server: Server) -> None:
    # One huge header line, and many medium ones that together exceed the header budget.
    huge = b"X-Huge: " + b"a" * 100_000 + b"\r\n"
    medium = b"".join(b"X-Medium-%d: %s\r\n" % (i, b"b" * 1000) for i in range(40))
    for headers in (huge, medium):
        answer = raw_exchange(server, b"GET / HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n")
        assert answer.startswith(b"HTTP/1.1 431 "), answer[:80]
    status, _, body = server.request("GET", "/")
    assert status == 200 and b'<div id="root">' in body
