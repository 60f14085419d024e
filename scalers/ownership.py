"""Who last set a field, read from metadata.managedFields (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Owner:
    manager: str
    time: datetime | None


def owners(obj: dict[str, Any], path: tuple[str, ...]) -> list[Owner]:
    """The managers whose field set holds the leaf at `path`, e.g. ("spec", "minReplicas")."""
    found = []
    for entry in obj.get("metadata", {}).get("managedFields") or []:
        node = entry.get("fieldsV1") or {}
        for part in path:
            node = node.get(f"f:{part}")
            if node is None:
                break
        else:
            found.append(Owner(entry.get("manager", ""), _parse_time(entry.get("time"))))
    return found


def only(obj: dict[str, Any], paths: Sequence[tuple[str, ...]]) -> list[dict[str, Any]]:
    """The object's managedFields cut down to the leaves at `paths`: every entry stays (who wrote
    anything, when, how), but its field set names only those leaves. `owners` and `managers`
    answer the same for them as on the whole object, for a fraction of its size."""
    kept = []
    for entry in obj.get("metadata", {}).get("managedFields") or []:
        source = entry.get("fieldsV1") or {}
        fields: dict[str, Any] = {}
        for path in paths:
            node = source
            for part in path:
                node = node.get(f"f:{part}") if isinstance(node, dict) else None
                if node is None:
                    break
            else:
                parent = fields
                for part in path[:-1]:
                    parent = parent.setdefault(f"f:{part}", {})
                parent[f"f:{path[-1]}"] = {}
        head = {k: entry[k] for k in ("manager", "operation", "time", "subresource") if k in entry}
        kept.append(head | {"fieldsV1": fields})
    return kept


def managers(obj: dict[str, Any]) -> set[str]:
    return {e.get("manager", "") for e in obj.get("metadata", {}).get("managedFields") or []}


def _parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
