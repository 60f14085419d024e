"""Reading who set a field from metadata.managedFields, on whole objects and on cut-down ones."""

from __future__ import annotations

from typing import Any

from scalers import ownership

SPEC_PATHS = [("spec", "minReplicas"), ("spec", "maxReplicas")]


def entry(manager: str, time: str, fields: dict[str, Any], **extra: str) -> dict[str, Any]:
    return {
        "manager": manager,
        "operation": "Update",
        "apiVersion": "autoscaling/v2",
        "time": time,
        "fieldsType": "FieldsV1",
        "fieldsV1": fields,
    } | extra


HPA: dict[str, Any] = {
    "metadata": {
        "name": "web",
        "managedFields": [
            entry(
                "argocd-controller",
                "2026-11-20T10:00:00Z",
                {
                    "f:metadata": {"f:annotations": {".": {}, "f:team": {}}},
                    "f:spec": {
                        "f:maxReplicas": {},
                        "f:metrics": {},
                        "f:scaleTargetRef": {"f:kind": {}, "f:name": {}},
                    },
                },
            ),
            entry(
                "kube-scalers-schedule", "2026-11-23T09:00:00Z", {"f:spec": {"f:minReplicas": {}}}
            ),
            entry("kubectl-patch", "2026-11-23T09:30:00Z", {"f:spec": {"f:minReplicas": {}}}),
            entry(
                "kube-controller-manager",
                "2026-11-23T09:31:00Z",
                {"f:status": {"f:currentReplicas": {}}},
                subresource="status",
            ),
        ],
    }
}


def test_owners_of_a_leaf_with_their_times():
    owners = ownership.owners(HPA, ("spec", "minReplicas"))
    assert [(o.manager, o.time and o.time.isoformat()) for o in owners] == [
        ("kube-scalers-schedule", "2026-11-23T09:00:00+00:00"),
        ("kubectl-patch", "2026-11-23T09:30:00+00:00"),
    ]
    assert [o.manager for o in ownership.owners(HPA, ("spec", "maxReplicas"))] == [
        "argocd-controller"
    ]
    assert ownership.owners(HPA, ("spec", "metrics", "x")) == []


def test_a_cut_down_copy_answers_the_same_for_its_paths():
    cut = {"metadata": {"managedFields": ownership.only(HPA, SPEC_PATHS)}}

    for path in SPEC_PATHS:
        assert ownership.owners(cut, path) == ownership.owners(HPA, path)
    assert ownership.managers(cut) == ownership.managers(HPA)
    assert [e["fieldsV1"] for e in cut["metadata"]["managedFields"]] == [
        {"f:spec": {"f:maxReplicas": {}}},
        {"f:spec": {"f:minReplicas": {}}},
        {"f:spec": {"f:minReplicas": {}}},
        {},
    ]
    assert cut["metadata"]["managedFields"][3]["subresource"] == "status"
    assert ownership.only({"metadata": {}}, SPEC_PATHS) == []
