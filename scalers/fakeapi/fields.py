"""Field-level helpers: strict equality, merge / JSON patches, leaf sets and fieldsV1.

A *leaf* is a path (tuple of map keys) to a value that is not a non-empty map: scalars,
``null``, lists (lists are atomic: no merge keys, no per-item ownership) and empty maps.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable
from typing import Any

Path = tuple[str, ...]
Leaves = dict[Path, Any]


class PatchError(Exception):
    """A patch document that cannot be applied to the object."""


def deq(a: Any, b: Any) -> bool:
    """JSON equality that, unlike ``==``, tells ``true`` from ``1`` and ``1`` from ``1.0``."""
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, dict | list):
        return _canon(a) == _canon(b)
    return bool(a == b)


def _canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


# --- merge patch (RFC 7386), also used to merge an applied configuration -----------------


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: maps merge recursively, ``null`` deletes, everything else (lists) replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def strip_directives(patch: Any) -> Any:
    """Drop strategic-merge directives (``$patch``, ``$setElementOrder/...``, ``$retainKeys``)."""
    if isinstance(patch, dict):
        return {k: strip_directives(v) for k, v in patch.items() if not k.startswith("$")}
    if isinstance(patch, list):
        return [strip_directives(v) for v in patch]
    return patch


# --- JSON patch (RFC 6902) ---------------------------------------------------------------


def _pointer(text: Any) -> list[str]:
    if not isinstance(text, str) or (text and not text.startswith("/")):
        raise PatchError(f"invalid JSON pointer {text!r}")
    if text == "":
        return []
    return [t.replace("~1", "/").replace("~0", "~") for t in text[1:].split("/")]


def _index(seq: list[Any], token: str, allow_end: bool) -> int:
    if allow_end and token == "-":
        return len(seq)
    if not token.isdigit() or (len(token) > 1 and token[0] == "0"):
        raise PatchError(f"invalid array index {token!r}")
    i = int(token)
    if i > len(seq) or (i == len(seq) and not allow_end):
        raise PatchError(f"array index {i} out of range")
    return i


def _get(doc: Any, tokens: list[str]) -> Any:
    node = doc
    for t in tokens:
        if isinstance(node, dict):
            if t not in node:
                raise PatchError(f"path /{'/'.join(tokens)} does not exist")
            node = node[t]
        elif isinstance(node, list):
            node = node[_index(node, t, allow_end=False)]
        else:
            raise PatchError(f"path /{'/'.join(tokens)} does not exist")
    return node


def _add(doc: Any, tokens: list[str], value: Any) -> Any:
    if not tokens:
        return value
    parent = _get(doc, tokens[:-1])
    last = tokens[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        parent.insert(_index(parent, last, allow_end=True), value)
    else:
        raise PatchError(f"cannot add to a scalar at /{'/'.join(tokens)}")
    return doc


def _remove(doc: Any, tokens: list[str]) -> Any:
    if not tokens:
        raise PatchError("cannot remove the whole document")
    parent = _get(doc, tokens[:-1])
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchError(f"path /{'/'.join(tokens)} does not exist")
        del parent[last]
    elif isinstance(parent, list):
        del parent[_index(parent, last, allow_end=False)]
    else:
        raise PatchError(f"path /{'/'.join(tokens)} does not exist")
    return doc


def json_patch(doc: Any, ops: Any) -> Any:
    """Apply RFC 6902 operations (add, remove, replace, move, copy, test) to a private copy."""
    if not isinstance(ops, list):
        raise PatchError("a JSON patch must be a list of operations")
    doc = copy.deepcopy(doc)
    for op in ops:
        if not isinstance(op, dict) or "path" not in op:
            raise PatchError(f"invalid operation {op!r}")
        name, path = op.get("op"), _pointer(op["path"])
        if name in ("add", "replace", "test") and "value" not in op:
            raise PatchError(f"operation {name} needs a value")
        if name == "test":
            if not deq(_get(doc, path), op["value"]):
                raise PatchError(f"test failed at {op['path']}")
        elif name == "add":
            doc = _add(doc, path, copy.deepcopy(op["value"]))
        elif name == "remove":
            doc = _remove(doc, path)
        elif name == "replace":
            _get(doc, path)
            doc = (
                _add(_remove(doc, path), path, copy.deepcopy(op["value"])) if path else op["value"]
            )
        elif name in ("move", "copy"):
            source = _pointer(op.get("from"))
            value = copy.deepcopy(_get(doc, source))
            if name == "move":
                doc = _remove(doc, source)
            doc = _add(doc, path, value)
        else:
            raise PatchError(f"unknown operation {name!r}")
    return doc


# --- leaves and fieldsV1 -----------------------------------------------------------------

#: metadata fields the server owns; never part of a manager's field set.
SYSTEM_METADATA = frozenset(
    {
        "name",
        "namespace",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "managedFields",
        "selfLink",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
    }
)


def _walk(node: dict[str, Any], prefix: Path, out: Leaves) -> None:
    for key, value in node.items():
        path = (*prefix, key)
        if isinstance(value, dict) and value:
            _walk(value, path, out)
        else:
            out[path] = value


def leaves(obj: dict[str, Any], scope: str | None) -> Leaves:
    """Leaves a write of kind ``scope`` can own: None (main resource), "status" or "scale"."""
    out: Leaves = {}
    if scope == "scale":
        spec = obj.get("spec")
        if isinstance(spec, dict) and "replicas" in spec:
            out[("spec", "replicas")] = spec["replicas"]
        return out
    if scope == "status":
        status = obj.get("status")
        if isinstance(status, dict) and status:
            _walk(status, ("status",), out)
        return out
    for key, value in obj.items():
        if key in ("apiVersion", "kind", "status"):
            continue
        if key == "metadata" and isinstance(value, dict):
            meta = {k: v for k, v in value.items() if k not in SYSTEM_METADATA}
            _walk(meta, ("metadata",), out)
        elif isinstance(value, dict) and value:
            _walk(value, (key,), out)
        else:
            out[(key,)] = value
    return out


def changed_paths(old: Leaves, new: Leaves) -> tuple[set[Path], set[Path]]:
    """(leaves added or modified, leaves removed) going from ``old`` to ``new``."""
    changed = {p for p, v in new.items() if p not in old or not deq(old[p], v)}
    return changed, set(old) - set(new)


def to_fields_v1(paths: Iterable[Path]) -> dict[str, Any]:
    """``{("spec", "minReplicas")}`` -> ``{"f:spec": {"f:minReplicas": {}}}`` (no ``"."`` keys)."""
    root: dict[str, Any] = {}
    for path in sorted(paths):
        node = root
        for key in path:
            node = node.setdefault("f:" + key, {})
    return root


def remove_path(obj: dict[str, Any], path: Path) -> None:
    """Delete the leaf at ``path`` if present (parents are left in place)."""
    node: Any = obj
    for key in path[:-1]:
        node = node.get(key) if isinstance(node, dict) else None
    if isinstance(node, dict):
        node.pop(path[-1], None)


def dotted(path: Path) -> str:
    """The field path as the API server prints it in conflicts: ``.spec.minReplicas``."""
    return "".join("." + p for p in path)
