"""The fake API server's paged LIST, served from its ordered keys: the same pages as a full sort
of the objects after the continue token would give, through creates, deletes and a restore
between pages, in one namespace or all of them, with and without a selector."""

from __future__ import annotations

import json
import random
import urllib.request
from typing import Any

from scalers.fakeapi import FakeApiServer

NAMESPACES = ["a", "b", "kube-system", "zz"]


def config_map(namespace: str, name: str, tier: str) -> dict[str, Any]:
    metadata = {"name": name, "namespace": namespace, "labels": {"tier": tier}}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": {}}


def get(server: FakeApiServer, path: str) -> dict[str, Any]:
    with urllib.request.urlopen(server.url + path) as response:
        body: dict[str, Any] = json.load(response)
        return body


def pages(
    server: FakeApiServer, path: str, limit: int, between: Any
) -> tuple[list[tuple[str, str]], list[dict[str, Any]]]:
    """Every page of `path` at `limit`, `between()` called after each; the keys and metadata."""
    keys, metas, token = [], [], ""
    sep = "&" if "?" in path else "?"
    while True:
        page = get(server, f"{path}{sep}limit={limit}" + (f"&continue={token}" if token else ""))
        keys += [(o["metadata"]["namespace"], o["metadata"]["name"]) for o in page["items"]]
        metas.append(page["metadata"])
        token = page["metadata"].get("continue", "")
        if not token:
            return keys, metas
        between()


def test_continued_pages_follow_the_objects_there_are_now_in_order() -> None:
    rng = random.Random(13)
    with FakeApiServer() as server:
        live: set[tuple[str, str]] = set()
        tiers: dict[tuple[str, str], str] = {}

        def create() -> None:
            key = (rng.choice(NAMESPACES), f"cm-{rng.randrange(400):03d}")
            if key not in live:
                tiers[key] = rng.choice(["web", "db"])
                server.create(config_map(*key, tiers[key]))
                live.add(key)

        def delete() -> None:
            if live:
                key = rng.choice(sorted(live))
                server.delete("v1", "ConfigMap", *key)
                live.discard(key)

        for _ in range(200):
            create()
        log: list[set[tuple[str, str]]] = []

        def churn() -> None:
            for _ in range(rng.randrange(4)):
                rng.choice([create, delete])()
            log.append(set(live))

        for path, keep in [
            ("/api/v1/configmaps", lambda k: True),
            ("/api/v1/namespaces/b/configmaps", lambda k: k[0] == "b"),
            ("/api/v1/configmaps?labelSelector=tier%3Dweb", lambda k: tiers[k] == "web"),
            ("/api/v1/namespaces/zz/configmaps?labelSelector=tier%3Ddb", lambda k: k[0] == "zz"
             and tiers[k] == "db"),
        ]:  # fmt: skip
            for limit in (1, 7, 50, 1000):
                log.clear()
                start = set(live)
                keys, metas = pages(server, path, limit, churn)
                assert keys == sorted(keys) and len(set(keys)) == len(keys)
                # each page: the objects after the previous page's last, as they were then
                seen: list[tuple[str, str]] = []
                for page_no, state in enumerate([start, *log]):
                    after = seen[-1] if seen else ("", "")
                    wanted = sorted(k for k in state if k > after and keep(k))
                    got = keys[len(seen) : len(seen) + limit]
                    assert got == wanted[:limit], (path, limit, page_no)
                    if len(wanted) > limit:
                        assert metas[page_no]["remainingItemCount"] == len(wanted) - limit
                    else:
                        assert "continue" not in metas[page_no]
                    seen += got
                first_version = metas[0]["resourceVersion"]
                assert all(m["resourceVersion"] == first_version for m in metas)


def test_a_restore_between_pages_is_what_the_next_page_reads() -> None:
    with FakeApiServer() as server:
        for i in range(5):
            server.create(config_map("a", f"cm-{i}", "web"))
        before = server.snapshot()
        first = get(server, "/api/v1/configmaps?limit=2")
        server.delete("v1", "ConfigMap", "a", "cm-3")
        server.create(config_map("a", "cm-9", "web"))
        token = first["metadata"]["continue"]
        after_writes = get(server, f"/api/v1/configmaps?limit=10&continue={token}")
        assert [o["metadata"]["name"] for o in after_writes["items"]] == ["cm-2", "cm-4", "cm-9"]
        server.restore(before)
        restored = get(server, f"/api/v1/configmaps?limit=10&continue={token}")
        assert [o["metadata"]["name"] for o in restored["items"]] == ["cm-2", "cm-3", "cm-4"]
        server.create(config_map("a", "cm-25", "web"))
        again = get(server, f"/api/v1/configmaps?limit=10&continue={token}")
        names = [o["metadata"]["name"] for o in again["items"]]
        assert names == ["cm-2", "cm-25", "cm-3", "cm-4"]
