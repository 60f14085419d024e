"""A LIST's items carry no apiVersion or kind on a real API server (only the list itself does;
kubernetes/kubernetes#3030), a watch event's object does: the fake server answers so, and the
controller's caches and Events do not depend on the difference."""

from __future__ import annotations

import json
import urllib.request

from scalers.kube.informer import Informer
from tests.builders import add_nodes, configmap, coredns_hpa, hpa
from tests.support import wait_for
from tests.test_informer import running
from tests.test_proportional_loop import LINEAR


def test_list_items_have_no_type_and_watch_objects_do(server):
    server.create(hpa("web", None))
    url = f"{server.url}/apis/autoscaling/v2/namespaces/shop/horizontalpodautoscalers"
    with urllib.request.urlopen(url) as answer:
        listed = json.load(answer)
    assert (listed["kind"], listed["apiVersion"]) == (
        "HorizontalPodAutoscalerList",
        "autoscaling/v2",
    )
    [item] = listed["items"]
    assert "kind" not in item and "apiVersion" not in item
    with urllib.request.urlopen(f"{url}?watch=true&resourceVersion=0&timeoutSeconds=1") as answer:
        event = json.loads(answer.readline())
    assert (event["object"]["kind"], event["object"]["apiVersion"]) == (
        "HorizontalPodAutoscaler",
        "autoscaling/v2",
    )


def test_an_informer_caches_objects_with_their_type_from_a_list_and_a_watch(server, kube):
    from scalers.resources import HPA

    server.create(hpa("listed", None))
    with running(Informer(kube, HPA, lambda *_: None)) as informer:
        server.create(hpa("watched", None))
        wait_for(lambda: informer.get("shop/watched") is not None)
        for key in ("shop/listed", "shop/watched"):
            obj = informer.get(key)
            assert obj is not None
            assert (obj["apiVersion"], obj["kind"]) == ("autoscaling/v2", "HorizontalPodAutoscaler")


def test_an_event_on_a_listed_target_names_its_api_version(server, proportional):
    add_nodes(server, 12)
    server.create(coredns_hpa(min_replicas=2, max_replicas=10))
    server.create(configmap(LINEAR))
    p = proportional()
    p.evaluate()
    [warning] = [e for e in p.posted_events() if e["reason"] == "ProportionalClamped"]
    assert warning["involvedObject"]["apiVersion"] == "autoscaling/v2"
    assert warning["involvedObject"]["kind"] == "HorizontalPodAutoscaler"
