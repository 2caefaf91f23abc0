"""In-memory pet-store data with seed records. Thread-safe: the server handles requests in threads."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime
from typing import Any

SEED_USERS: tuple[dict[str, Any], ...] = (
    {"username": "ada", "email": "ada@example.com", "displayName": "Ada Lovelace", "role": "admin"},
    {"username": "grace", "email": "grace@example.com", "displayName": "Grace Hopper", "role": "staff"},
    {"username": "linus", "email": "linus@example.com", "displayName": "Linus", "role": "customer"},
    {
        "username": "margaret",
        "email": "margaret@example.com",
        "displayName": "Margaret H.",
        "role": "customer",
    },
)

SEED_PETS: tuple[dict[str, Any], ...] = (
    {"name": "Rex", "species": "dog", "age": 4, "status": "available", "tags": ["friendly", "trained"]},
    {"name": "Mittens", "species": "cat", "age": 2, "status": "adopted", "ownerId": 3, "tags": ["indoor"]},
    {"name": "Tweety", "species": "bird", "age": 1, "status": "available", "tags": []},
    {"name": "Nemo", "species": "fish", "age": 1, "status": "pending", "tags": ["saltwater"]},
    {"name": "Thumper", "species": "rabbit", "age": 3, "status": "available", "tags": ["fluffy"]},
    {"name": "Spike", "species": "reptile", "age": 7, "status": "adopted", "ownerId": 4, "tags": []},
)

SEED_POSTS: tuple[dict[str, Any], ...] = (
    {"authorId": 2, "petId": 1, "title": "Rex learned to sit", "body": "Two weeks of treats and he sits."},
    {"authorId": 3, "petId": 2, "title": "Mittens is home", "body": "She found the sunniest windowsill."},
    {"authorId": 1, "title": "Open day on Saturday", "body": "Meet our animals from 10 to 4."},
)


class NotFoundError(LookupError):
    pass


class ConflictError(ValueError):
    """The request is well-formed but refers to something that does not exist or already exists."""


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


class Store:
    def __init__(self, seed: bool = True) -> None:
        self._lock = threading.Lock()
        self._pets: dict[int, dict[str, Any]] = {}
        self._users: dict[int, dict[str, Any]] = {}
        self._posts: dict[int, dict[str, Any]] = {}
        if seed:
            for user in SEED_USERS:
                self.create_user(dict(user))
            for pet in SEED_PETS:
                self.create_pet(dict(pet))
            for post in SEED_POSTS:
                self.create_post(dict(post))

    # -- pets --------------------------------------------------------------
    def list_pets(
        self, limit: int, offset: int, status: str | None = None, species: str | None = None
    ) -> list[Any]:
        with self._lock:
            rows = [
                p
                for p in self._pets.values()
                if (status is None or p["status"] == status) and (species is None or p["species"] == species)
            ]
            return [dict(p) for p in rows[offset : offset + limit]]

    def get_pet(self, pet_id: int) -> dict[str, Any]:
        with self._lock:
            if pet_id not in self._pets:
                raise NotFoundError(f"no pet with id {pet_id}")
            return dict(self._pets[pet_id])

    def create_pet(self, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            owner = body.get("ownerId")
            if owner is not None and owner not in self._users:
                raise ConflictError(f"ownerId {owner} does not exist")
            pet = {
                "id": len(self._pets) + 1,
                "name": body["name"],
                "species": body["species"],
                "status": body.get("status", "available"),
                "tags": list(body.get("tags", [])),
            }
            for key in ("age", "ownerId"):
                if key in body:
                    pet[key] = body[key]
            self._pets[pet["id"]] = pet
            return dict(pet)

    # -- users -------------------------------------------------------------
    def list_users(self, limit: int, offset: int, role: str | None = None) -> list[Any]:
        with self._lock:
            rows = [u for u in self._users.values() if role is None or u["role"] == role]
            return [dict(u) for u in rows[offset : offset + limit]]

    def get_user(self, user_id: int) -> dict[str, Any]:
        with self._lock:
            if user_id not in self._users:
                raise NotFoundError(f"no user with id {user_id}")
            return dict(self._users[user_id])

    def create_user(self, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            if any(u["username"] == body["username"] for u in self._users.values()):
                raise ConflictError(f"username {body['username']!r} is taken")
            user = {
                "id": len(self._users) + 1,
                "username": body["username"],
                "email": body["email"],
                "displayName": body.get("displayName", body["username"]),
                "role": body.get("role", "customer"),
            }
            self._users[user["id"]] = user
            return dict(user)

    # -- posts -------------------------------------------------------------
    def list_posts(self, limit: int, offset: int, author_id: int | None = None) -> list[Any]:
        with self._lock:
            rows = [
                p for p in reversed(self._posts.values()) if author_id is None or p["authorId"] == author_id
            ]
            return [dict(p) for p in rows[offset : offset + limit]]

    def get_post(self, post_id: int) -> dict[str, Any]:
        with self._lock:
            if post_id not in self._posts:
                raise NotFoundError(f"no post with id {post_id}")
            return dict(self._posts[post_id])

    def create_post(self, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            if body["authorId"] not in self._users:
                raise ConflictError(f"authorId {body['authorId']} does not exist")
            if "petId" in body and body["petId"] not in self._pets:
                raise ConflictError(f"petId {body['petId']} does not exist")
            post = {
                "id": len(self._posts) + 1,
                "authorId": body["authorId"],
                "title": body["title"],
                "body": body["body"],
                "createdAt": _now(),
            }
            if "petId" in body:
                post["petId"] = body["petId"]
            self._posts[post["id"]] = post
            return dict(post)

    # -- stats -------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "pets": len(self._pets),
                "users": len(self._users),
                "posts": len(self._posts),
                "petsByStatus": dict(Counter(p["status"] for p in self._pets.values())),
                "petsBySpecies": dict(Counter(p["species"] for p in self._pets.values())),
            }
