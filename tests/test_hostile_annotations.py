"""Fuzz: several hundred hostile annotation values beside well-formed ones, on HPAs in the fake
API server, through the real schedule loop. Every bad one gets exactly one Warning Event and no
write; every good one is written at its fire; a tick never raises."""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from scalers.kube.client import Kube
from scalers.resources import EVENT
from scalers.schedule.loop import FIELD_MANAGER
from tests.builders import hpa
from tests.support import HPA, events_for

ZONE = "kube-scalers.io/timezone"
SEED = 9
# Monday 2 November 2026: the evening action fired on Sunday at 18:00 with the HPA's own values,
# so the catch-up before 09:00 writes nothing and the 09:00 fire is the first write.
BEFORE, FIRE = datetime(2026, 11, 2, 8, 59, tzinfo=UTC), datetime(2026, 11, 2, 9, 0, 1, tzinfo=UTC)
EVENING = {"schedule": "0 18 * * *", "minReplicas": 2, "maxReplicas": 20}


def good(rng: random.Random, low: int) -> tuple[str, dict[str, str], dict[str, int]]:
    """A well-formed annotation in one of its many spellings, and the values it fires at 09:00."""
    high = low + rng.randint(0, 30)
    spell: Callable[[int], Any] = rng.choice([int, str, lambda n: f" {n} ", lambda n: f"00{n}"])
    morning: dict[str, Any] = {
        "schedule": rng.choice(["0 9 * * *", "0 9 * * 1-5", "0 9 * * MON", " 0 9 * * * "]),
        "minReplicas": spell(low),
        "maxReplicas": spell(high),
    }
    if rng.random() < 0.3:
        morning["tz"] = rng.choice(["UTC", "Etc/UTC"])
    notes = {ZONE: "UTC"} if rng.random() < 0.3 else {}
    copies = rng.choice([1, 1, 1, 99])  # 100 actions in all is the bound, still accepted
    return (
        json.dumps([EVENING, *[morning] * copies]),
        notes,
        {"minReplicas": low, "maxReplicas": high},
    )


def act(**fields: Any) -> str:
    return json.dumps([EVENING, {"schedule": "0 9 * * *", "minReplicas": 3, **fields}])


ZONES = ["Europe", "America", "Etc", "America/Argentina", "Asia", "", " ", "A" * 300,
         "Europe/" + "x" * 300, "../etc/passwd", "/etc/localtime", "localtime", "utc", "UTC ",
         "Europe/Berlin\u0000", "Europe//Berlin", "Mars/Olympus", "Europe/Berlin/", "\u00e9" * 90]  # fmt: skip
NUMBERS = [0, -1, -(2**31), 2**31, 2**63, 10**30, 10**400, 1.5, 2.0, 1e3, True, False, [],
           {}, [3], {"n": 3}, "", " ", "1e3", "1.0", "0x10", "3 3", "--3", "+-3", "\u0663",
           "2147483648", "9" * 300, "NaN", "Infinity", "-5", "0", "ten", "\t"]  # fmt: skip
CRONS = ["", " ", "0 9 * * * *", "0 0 9 * * 1-5", "* * * * * * *", "* * * *", "61 * * * *",
         "0 25 * * *", "0 0 31 2 *", "@every 5m", "@reboot", "@", "@HOURLYY", "\u0663 * * * *",
         "0 9 * * funday", "*/0 * * * *", "1" + ",1" * 300 + " * * * *", "x" * 10_000,
         "0\u00009 * * *", "0 9 L * *", "0 9 * * 5L", "0 9 * * 1#2", "0 9 ? * *", "0 9 15W * *",
         "R 9 * * *", "H 9 * * *"]  # fmt: skip


def bad_values(rng: random.Random) -> list[tuple[str, dict[str, str]]]:
    """(annotation, our other annotations) pairs, each wrong in at least one way."""
    values: list[tuple[str, dict[str, str]]] = []
    values += [(act(tz=zone), {}) for zone in ZONES]
    values += [(act(), {ZONE: zone}) for zone in ZONES]
    for field in ("minReplicas", "maxReplicas"):
        values += [(act(**{field: number}), {}) for number in NUMBERS]
    # A null is an absent field: an action left with no field at all is refused.
    values += [
        (act(minReplicas=None), {}),
        (act(replicas=3), {}),
        (act(minReplicas=9, maxReplicas=3), {}),
    ]
    values += [(act(schedule=cron), {}) for cron in CRONS]
    values += [(act(schedule=cron), {}) for cron in (None, 9, ["0 9 * * *"], {"at": 9}, True)]
    numbers = [
        "NaN", "Infinity", "-Infinity", "1e400", "-0.0", "9" * 4301, "9" * rng.randint(4302, 9000),
        "1" + "0" * 400, "-" + "9" * 5000, "2147483648", "4294967297", "1E3",
    ]  # fmt: skip
    values += [
        (f'[{{"schedule": "0 9 * * *", "minReplicas": {n}}}]', {}) for n in numbers
    ]  # NaN and friends are what Python's json takes beyond the standard
    for _ in range(25):
        depth = rng.randint(17, 20_000)
        values.append(("[" * depth + "]" * depth, {}))
        inner = "[" * (depth - 2) + "]" * (depth - 2)
        values.append((f'[{{"schedule": "0 9 * * *", "minReplicas": 2, "x": {inner}}}]', {}))
    values += [
        (text, {})
        for text in [
            "", " ", "\n", "null", "true", "0", '"[]"', "{}", '{"schedule": "0 9 * * *"}',
            "[1]", '["0 9 * * *"]', "[null]", "[[]]", "[{}]", "[{,}]", "[{'schedule': 1}]",
            '[{"schedule": "0 9 * * *", "minReplicas": 2,}]', "[] []", "[]]", "\ufeff[]x",
            '[{"schedule": "0 9 * * *", "minReplicas": 2, "minReplicas": "x"}]',
            '[{"schedule": "0 9 * * *", "schedule": "@nope", "minReplicas": 2}]',
            '/* c */ [{"schedule": "0 9 * * *", "minReplicas": 2}]',
            json.dumps([EVENING] * 101), json.dumps([{"schedule": "0 9 * * *"}] * 3000),
            json.dumps([7] * 20_000), json.dumps([EVENING, {"schedule": "0 9 * * *"}]),
            "https://example.com/schedule.json", " s3://bucket/web.json", "http://" + "x" * 5000,
            json.dumps([EVENING, {"schedule": "@x", "minReplicas": "x", "tz": "x", "y": 1}] * 50),
        ]
    ]  # fmt: skip
    well_formed = act(maxReplicas=30)
    for _ in range(40):  # well-formed text cut short is never JSON
        values.append((well_formed[: rng.randrange(len(well_formed))], {}))
    alphabet = '[]{}",:0123456789 abcxyz\\\u00e9\u4e2d\U0001f600\u0000\t\n-.eE'
    for _ in range(80):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 200)))
        if not text.lstrip().startswith("["):
            values.append((text, {}))
    return values


def test_hostile_annotations_reject_their_own_object_only(server, harness):
    rng = random.Random(SEED)
    bad = bad_values(rng)
    goods = [good(rng, low) for low in range(3, 43)]
    assert len(bad) > 300
    for index, (text, notes) in enumerate(bad):
        server.create(hpa(f"bad-{index}", text, 2, 20, annotations=notes), manager="argocd")
    for index, (text, notes, _) in enumerate(goods):
        server.create(hpa(f"good-{index}", text, 2, 20, annotations=notes), manager="argocd")
    before = {f"bad-{index}": server.get(*HPA, "shop", f"bad-{index}") for index in range(len(bad))}
    h = harness()

    h.tick(BEFORE)
    h.tick(FIRE)

    events, _ = Kube(server.api_client()).list(EVENT, "shop")
    warnings = Counter(e["involvedObject"]["name"] for e in events if e["type"] == "Warning")
    for name, obj in before.items():
        assert warnings[name] == 1, (name, obj["metadata"]["annotations"])
        assert server.get(*HPA, "shop", name) == obj, name
    for index, (_, _, values) in enumerate(goods):
        obj = server.get(*HPA, "shop", f"good-{index}")
        assert {k: obj["spec"][k] for k in values} == values, f"good-{index}"
        assert any(m["manager"] == FIELD_MANAGER for m in obj["metadata"]["managedFields"])
        assert warnings[f"good-{index}"] == 0
    assert all(len(e["message"]) <= 1024 for e in events)


def test_an_annotation_with_many_problems_is_one_event_naming_the_first(server, harness):
    bad = {"schedule": "0 9 L * *", "minReplicas": 0, "tz": "Nowhere/Land", "minReplica": 1}
    server.create(hpa("web", json.dumps([EVENING, bad, bad]), 2, 20), manager="argocd")
    h = harness()

    h.tick(BEFORE)
    h.tick(FIRE)

    [event] = [e for e in events_for(server, "web") if e["type"] == "Warning"]
    assert event["reason"] == "InvalidSchedule"
    assert event["message"] == (
        "action 2: schedule '0 9 L * *' uses 'L' (the last day or weekday of the month), an "
        "extension of some cron tools: only standard 5-field cron is accepted; action 2: unknown "
        "zone 'Nowhere/Land'; and 6 more problems"
    )
