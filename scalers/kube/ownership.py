"""Who last set a field, read from metadata.managedFields (pure)."""

from __future__ import annotations

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


def managers(obj: dict[str, Any]) -> set[str]:
    return {e.get("manager", "") for e in obj.get("metadata", {}).get("managedFields") or []}


def _parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
