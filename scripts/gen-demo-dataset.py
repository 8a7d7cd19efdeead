#!/usr/bin/env python3
"""Writes fixtures/demo: a fauna-dev dataset modelled on the Animal Exchange ledger.

Deterministic (fixed seed, fixed clock), so the committed files only change when this script
does. Collections: players, items (animals for sale), purchases (ledger entries referring to
both), and pricing (stored Lambdas). Values cover refs, integers, doubles, strings, booleans,
nulls, nested objects and arrays, timestamps, dates, bytes and queries; the history holds
updates (owner and credit changes) and deletions (refunded purchases).

Usage: python3 scripts/gen-demo-dataset.py [out_dir]
"""
import base64
import json
import random
import sys
from pathlib import Path

OUT = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "fixtures" / "demo")
rng = random.Random(20221118)

EPOCH_MS = 1336258850000  # Fauna's snowflake epoch
START_MS = 1788220800000  # 2026-09-01T00:00:00Z
_seq = 0


def snowflake(ms):
    global _seq
    _seq = (_seq + 1) % 1024
    return str((((ms - EPOCH_MS) << 10 | _seq) << 10) | 73)


def ref(coll, id_):
    return {"@ref": {"id": id_, "collection": {"@ref": {"id": coll, "collection": {"@ref": {"id": "collections"}}}}}}


def ts_text(micros):
    s, us = divmod(micros, 1_000_000)
    import datetime as dt
    t = dt.datetime.fromtimestamp(s, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    return t + (f".{us // 1000:03d}" if us % 1000 == 0 and us else (f".{us:06d}" if us else "")) + "Z"


FIRST = ["Ada", "Bo", "Cy", "Dee", "Eli", "Fay", "Gus", "Hal", "Ivy", "Jo", "Kit", "Lou", "Mo", "Ned", "Oli", "Pam"]
LAST = ["Stone", "Rivers", "Hart", "Moss", "Reed", "Fox", "Lane", "Wolfe", "Frost", "Vale"]
ANIMALS = [("Llama", "🦙"), ("Otter", "🦦"), ("Panda", "🐼"), ("Fox", "🦊"), ("Owl", "🦉"), ("Koala", "🐨"), ("Tiger", "🐯"), ("Whale", "🐳")]
COLORS = ["amber", "azure", "crimson", "jade", "onyx", "pearl", "violet", "saffron"]

players, items, purchases, pricing = [], [], [], []
clock_ms = START_MS


def tick(max_ms=60_000):
    global clock_ms
    clock_ms += rng.randint(1, max_ms)
    return clock_ms


player_ids = []
for i in range(1200):
    ms = tick()
    pid = snowflake(ms)
    player_ids.append(pid)
    name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
    data = {
        "nickname": name,
        "email": f"{name.lower().replace(' ', '.')}.{i}@example.com",
        "credits": rng.randint(0, 5000),
        "rating": round(rng.uniform(0, 5), 2),
        "vip": rng.random() < 0.1,
        "born": {"@date": f"{rng.randint(1950, 2008)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"},
        "joined": {"@ts": ts_text(ms * 1000)},
        "avatar": {"@bytes": base64.b64encode(bytes(rng.randrange(256) for _ in range(rng.randint(8, 24)))).decode()},
        "address": {"city": rng.choice(["Lisbon", "Oslo", "Quito", "Osaka", "Accra", "Perth"]), "zip": f"{rng.randint(1000, 99999):05d}"},
        "tags": rng.sample(["collector", "breeder", "trader", "newbie", "whale"], rng.randint(0, 3)),
        "referrer": ref("players", rng.choice(player_ids[:-1])) if len(player_ids) > 1 and rng.random() < 0.3 else None,
    }
    players.append({"id": pid, "ts": ms * 1000, "data": data})

item_ids = []
for i in range(2400):
    ms = tick()
    iid = snowflake(ms)
    item_ids.append(iid)
    kind, emoji = rng.choice(ANIMALS)
    data = {
        "name": f"{rng.choice(COLORS).title()} {kind}",
        "emoji": emoji,
        "owner": ref("players", rng.choice(player_ids)),
        "price": rng.randint(10, 900),
        "weight_kg": round(rng.uniform(0.3, 900.0), 3),
        "for_sale": rng.random() < 0.6,
        "listed": {"@ts": ts_text(ms * 1000)},
        "traits": {"color": rng.choice(COLORS), "speed": rng.randint(1, 10), "rare": rng.random() < 0.05},
    }
    items.append({"id": iid, "ts": ms * 1000, "data": data})

pricing_rule = {"@query": {"api_version": "4", "lambda": ["price", "qty"], "expr": {"multiply": [{"var": "price"}, {"var": "qty"}]}}}
discount_rule = {"@query": {"api_version": "4", "lambda": "price", "expr": {"multiply": [{"var": "price"}, 0.9]}}}
for name, rule in [("total", pricing_rule), ("vip_discount", discount_rule)]:
    ms = tick()
    pricing.append({"id": snowflake(ms), "ts": ms * 1000, "data": {"name": name, "rule": rule, "active": True}})

# History: ledger entries, owner changes and credit changes, some refunds (deletions).
versions = {("items", it["id"]): [it] for it in items}
for p in players:
    versions[("players", p["id"])] = [p]
purchase_versions = []
for i in range(6000):
    ms = tick(20_000)
    iid = rng.choice(item_ids)
    buyer = rng.choice(player_ids)
    item_hist = versions[("items", iid)]
    item = dict(item_hist[-1]["data"])
    qty = rng.randint(1, 3)
    pid = snowflake(ms)
    purchase = {
        "item": ref("items", iid),
        "buyer": ref("players", buyer),
        "seller": item["owner"],
        "quantity": qty,
        "total": item["price"] * qty,
        "at": {"@ts": ts_text(ms * 1000)},
        "pricing": ref("pricing", pricing[0]["id"]),
        "note": None if rng.random() < 0.7 else rng.choice(["gift", "bulk", "auction", "trade-in"]),
    }
    purchase_versions.append({"id": pid, "ts": ms * 1000, "data": purchase})
    # The item changes hands (an update of the item document) a little later.
    item["owner"] = ref("players", buyer)
    item["for_sale"] = False
    item_hist.append({"id": iid, "ts": ms * 1000 + 7, "data": item})
    # Refunds: some purchases are deleted later.
    if rng.random() < 0.04:
        purchase_versions.append({"id": pid, "ts": ms * 1000 + 11, "action": "delete"})

OUT.mkdir(parents=True, exist_ok=True)
(OUT / "documents").mkdir(exist_ok=True)
schema = {
    "collections": [
        {"name": "players", "history_days": None},
        {"name": "items", "history_days": 30},
        {"name": "purchases", "history_days": 30},
        {"name": "pricing", "history_days": None},
    ],
    "indexes": [
        {"name": "players_by_ts", "source": "players", "values": [{"field": "ts"}, {"field": "ref"}]},
        {"name": "items_by_ts", "source": "items", "values": [{"field": "ts"}, {"field": "ref"}]},
        {"name": "purchases_by_ts", "source": "purchases", "values": [{"field": "ts"}, {"field": "ref"}]},
        {"name": "items_for_sale", "source": "items", "terms": [{"field": ["data", "for_sale"]}], "values": [{"field": ["data", "price"]}, {"field": "ref"}]},
    ],
    "roles": [
        {"name": "exporter", "privileges": [
            {"resource": {"collections": None}, "actions": {"read": True}},
            {"resource": {"indexes": None}, "actions": {"read": True}},
            {"resource": {"collection": "players"}, "actions": {"read": True, "history_read": True}},
            {"resource": {"collection": "items"}, "actions": {"read": True, "history_read": True}},
            {"resource": {"collection": "purchases"}, "actions": {"read": True, "history_read": True}},
            {"resource": {"collection": "pricing"}, "actions": {"read": True}},
            {"resource": {"index": "players_by_ts"}, "actions": {"read": True}},
            {"resource": {"index": "items_by_ts"}, "actions": {"read": True}},
            {"resource": {"index": "purchases_by_ts"}, "actions": {"read": True}},
        ]},
    ],
    "keys": [
        {"secret": "fnDemoServerKey", "role": "server"},
        {"secret": "fnDemoExporterKey", "role": {"role": "exporter"}},
    ],
}
(OUT / "schema.json").write_text(json.dumps(schema, indent=2, ensure_ascii=False) + "\n")


def write(name, rows):
    rows = sorted(rows, key=lambda r: (r["ts"], int(r["id"])))
    with open(OUT / "documents" / f"{name}.jsonl", "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n")


write("players", [v for (c, _), hist in versions.items() if c == "players" for v in hist])
write("items", [v for (c, _), hist in versions.items() if c == "items" for v in hist])
write("purchases", purchase_versions)
write("pricing", pricing)
print(f"wrote {OUT}: {len(players)} players, {len(items)} items, {len(purchase_versions)} purchase versions, {len(pricing)} pricing rules")
