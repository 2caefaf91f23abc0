"""The API's behaviour: overrides every generated handler stub."""

from __future__ import annotations

from typing import Any

from petstore_api import PetstoreHandlers, spec

from .store import Store


class Handlers(PetstoreHandlers):
    def __init__(self, store: Store) -> None:
        self.store = store

    def get_health(self, params: dict[str, Any], body: Any) -> Any:
        return {"status": "ok", "version": spec.VERSION, "specSha256": spec.SPEC_SHA256}

    def get_stats(self, params: dict[str, Any], body: Any) -> Any:
        return self.store.stats()

    def list_pets(self, params: dict[str, Any], body: Any) -> Any:
        return self.store.list_pets(
            params["limit"], params["offset"], params.get("status"), params.get("species")
        )

    def get_pet(self, params: dict[str, Any], body: Any) -> Any:
        return self.store.get_pet(params["petId"])

    def create_pet(self, params: dict[str, Any], body: Any) -> Any:
        return self.store.create_pet(body)

    def list_users(self, params: dict[str, Any], body: Any) -> Any:
        return self.store.list_users(params["limit"], params["offset"], params.get("role"))

    def get_user(self, params: dict[str, Any], body: Any) -> Any:
        return self.store.get_user(params["userId"])

    def create_user(self, params: dict[str, Any], body: Any) -> Any:
        return self.store.create_user(body)

    def list_posts(self, params: dict[str, Any], body: Any) -> Any:
        return self.store.list_posts(params["limit"], params["offset"], params.get("authorId"))

    def get_post(self, params: dict[str, Any], body: Any) -> Any:
        return self.store.get_post(params["postId"])

    def create_post(self, params: dict[str, Any], body: Any) -> Any:
        return self.store.create_post(body)
