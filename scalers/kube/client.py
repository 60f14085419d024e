"""The one adapter between the controller and the API server, over the official client.

Objects travel as plain JSON dicts: the loops read a handful of fields, and deserialising
thousands of objects into the client's models would cost more than the decisions themselves."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from kubernetes import client, watch

from scalers.kube.resources import EVENT, Resource

MERGE_PATCH = "application/merge-patch+json"


class Kube:
    def __init__(self, api_client: client.ApiClient, request_timeout: float = 30.0) -> None:
        self.api_client = api_client
        self._timeout = request_timeout
        self._apis: dict[type, Any] = {}

    def _method(self, resource: Resource, verb: str, namespace: str | None) -> Any:
        api = self._apis.get(resource.api)
        if api is None:
            api = self._apis[resource.api] = resource.api(self.api_client)
        if not resource.namespaced:
            return getattr(api, f"{verb}_{resource.snake}")
        if verb == "list" and namespace is None:
            return getattr(api, f"list_{resource.snake}_for_all_namespaces")
        return getattr(api, f"{verb}_namespaced_{resource.snake}")

    @staticmethod
    def _args(resource: Resource, namespace: str | None, *args: Any) -> tuple[Any, ...]:
        return (*args, namespace) if resource.namespaced and namespace is not None else args

    def _json(self, response: Any) -> Any:
        try:
            return json.loads(response.data)
        finally:
            response.release_conn()

    def list(
        self,
        resource: Resource,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> tuple[list[dict[str, Any]], str]:
        """All objects, and the collection's resourceVersion to watch from."""
        kwargs: dict[str, Any] = {"_preload_content": False, "_request_timeout": self._timeout}
        kwargs.update(_selectors(label_selector, field_selector))
        method = self._method(resource, "list", namespace)
        body = self._json(method(*self._args(resource, namespace), **kwargs))
        return body.get("items") or [], body["metadata"]["resourceVersion"]

    def watch(
        self,
        resource: Resource,
        resource_version: str,
        stopper: watch.Watch,
        namespace: str | None = None,
        label_selector: str | None = None,
        timeout_seconds: int = 300,
        field_selector: str | None = None,
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        """(type, raw object) events from `resource_version` on; raises ApiException(410) when
        that version has expired. `stopper.stop()` ends the stream from another thread."""
        kwargs: dict[str, Any] = {
            "resource_version": resource_version,
            "allow_watch_bookmarks": True,
            "timeout_seconds": timeout_seconds,
            "_request_timeout": (self._timeout, timeout_seconds + 30),
            "deserialize": False,
            **_selectors(label_selector, field_selector),
        }
        method = self._method(resource, "list", namespace)
        for event in stopper.stream(method, *self._args(resource, namespace), **kwargs):
            yield event["type"], event["object"]

    def get(self, resource: Resource, namespace: str | None, name: str) -> dict[str, Any] | None:
        method = self._method(resource, "read", namespace)
        try:
            response = method(*self._args(resource, namespace, name), _preload_content=False)
        except client.ApiException as error:
            if error.status == 404:
                return None
            raise
        result: dict[str, Any] = self._json(response)
        return result

    def create(self, resource: Resource, namespace: str | None, body: dict[str, Any]) -> Any:
        method = self._method(resource, "create", namespace)
        return self._json(
            method(
                *self._args(resource, namespace),
                body,
                _preload_content=False,
                _request_timeout=self._timeout,
            )
        )

    def merge_patch(
        self,
        resource: Resource,
        namespace: str | None,
        name: str,
        body: dict[str, Any],
        field_manager: str,
        subresource: str | None = None,
    ) -> Any:
        """A JSON merge patch (RFC 7386) as `field_manager`: an Update in managedFields, so we own
        exactly the leaves we change and nothing we omit is touched."""
        verb = f"patch_namespaced_{resource.snake}_{subresource}" if subresource else None
        method = (
            getattr(self._method(resource, "patch", namespace).__self__, verb)
            if verb
            else self._method(resource, "patch", namespace)
        )
        return self._json(
            method(
                *self._args(resource, namespace, name),
                body,
                field_manager=field_manager,
                _content_type=MERGE_PATCH,
                _preload_content=False,
                _request_timeout=self._timeout,
            )
        )

    def create_event(self, namespace: str, body: dict[str, Any]) -> Any:
        return self.create(EVENT, namespace, body)


def _selectors(label_selector: str | None, field_selector: str | None) -> dict[str, str]:
    chosen = {"label_selector": label_selector, "field_selector": field_selector}
    return {name: value for name, value in chosen.items() if value}


def transient(error: Exception) -> bool:
    """Worth retrying: throttling, conflicts, server errors and dropped connections; not a
    request the server refused as invalid."""
    if isinstance(error, client.ApiException):
        return error.status in (409, 429) or error.status >= 500
    return True


def describe(error: Exception) -> str:
    """A failed request as a person reads it: the code and the server's own message."""
    if not isinstance(error, client.ApiException):
        return repr(error)
    try:
        body: dict[str, Any] = json.loads(error.body or "{}")
        message = str(body.get("message") or error.reason)
    except ValueError:
        message = str(error.reason)
    return f"HTTP {error.status}: {message}"
