#!/usr/bin/python3
"""Checks of tests/kafka/interop.sh with clients we did not write.

1. kcat's dump (key, partition, offset, headers, value; tab separated):
   every value validates against docs/kafka-event.schema.json, the headers
   agree with the value, the key is the partner (or the stream), and
   positions 1..head are each there once. With a cluster of S > 1 shards
   (--head h0,h1,...: each shard's head) positions are per shard: each
   (key, position) is there once, sum(heads) in all (a key lives in one
   shard).
2. A confluent_kafka consumer (read_committed, its own group) reads the
   topic: the same count, and per key the same positions in the same order
   as kcat saw.
Exits 0 when all hold, 1 otherwise (saying what). Bounded waits only.
"""
import argparse
import json
import sys
import time
import uuid

import jsonschema
from confluent_kafka import Consumer, KafkaError


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def parse_headers(text):
    # kcat prints headers as name=value,name=value (our values hold no comma
    # or equals sign: numbers, UUIDs, type names and stream ids).
    out = {}
    if text:
        for part in text.split(","):
            name, _, value = part.partition("=")
            out[name] = value
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--schema", required=True)
    ap.add_argument("--kcat", required=True)
    ap.add_argument("--brokers", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--head", required=True, help="the head, or each shard's head comma-separated")
    a = ap.parse_args()
    shard_heads = [int(h) for h in a.head.split(",")]
    a.head = sum(shard_heads)
    sharded = len(shard_heads) > 1

    with open(a.schema) as f:
        schema = json.load(f)
    validator_cls = jsonschema.validators.validator_for(schema)
    validator_cls.check_schema(schema)
    validator = validator_cls(schema, format_checker=jsonschema.FormatChecker())

    kcat_by_key = {}
    seen = set()
    count = 0
    with open(a.kcat) as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line:
                continue
            key, partition, offset, headers, value = line.split("\t", 4)
            doc = json.loads(value)
            errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
            if errors:
                e = errors[0]
                fail("kcat line %d (partition %s offset %s): %s at %s" % (n, partition, offset, e.message, list(e.path)))
            h = parse_headers(headers)
            expect = {
                "event_type": doc["type"],
                "schema_version": str(doc["schema_version"]),
                "position": str(doc["position"]),
                "stream": doc["stream"],
                "version": str(doc["version"]),
                "event_id": doc["event_id"],
            }
            if h != expect:
                fail("position %d: headers %r, expected %r" % (doc["position"], h, expect))
            want_key = doc["partner"] if doc["partner"] is not None else doc["stream"]
            if key != want_key:
                fail("position %d: key %r, expected %r" % (doc["position"], key, want_key))
            unique = (key, doc["position"]) if sharded else doc["position"]
            if unique in seen:
                fail("position %d%s twice in kcat's dump" % (doc["position"], " of key " + key if sharded else ""))
            seen.add(unique)
            kcat_by_key.setdefault(key, []).append(doc["position"])
            count += 1
    if sharded:
        if count != a.head:
            fail("kcat read %d messages; expected %d (the shards' heads %s)" % (count, a.head, shard_heads))
    elif count != a.head or seen != set(range(1, a.head + 1)):
        fail("kcat read %d messages; expected positions 1..%d each once" % (count, a.head))
    for key, positions in kcat_by_key.items():
        if positions != sorted(positions):
            fail("kcat: key %s not in position order" % key)
    print("kcat: %d messages, all valid against the schema, headers and keys agree" % count)

    consumer = Consumer({
        "bootstrap.servers": a.brokers,
        "group.id": "interop-" + uuid.uuid4().hex,
        "isolation.level": "read_committed",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
    })
    consumer.subscribe([a.topic])
    py_by_key = {}
    got = 0
    deadline = time.monotonic() + 120
    try:
        while got < a.head and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            if msg.error():
                if msg.error().code() == KafkaError._PARTITION_EOF:
                    continue
                fail("python consumer: %s" % msg.error())
            doc = json.loads(msg.value())
            py_by_key.setdefault(msg.key().decode(), []).append(doc["position"])
            got += 1
        # Anything beyond the head would be a duplicate: look a little longer.
        extra_deadline = time.monotonic() + 3
        while time.monotonic() < extra_deadline:
            msg = consumer.poll(0.5)
            if msg is not None and not msg.error():
                doc = json.loads(msg.value())
                fail("python consumer: an extra message at position %d" % doc["position"])
    finally:
        consumer.close()
    if got != count:
        fail("python consumer read %d messages, kcat %d" % (got, count))
    if py_by_key != kcat_by_key:
        diff = [k for k in set(py_by_key) | set(kcat_by_key) if py_by_key.get(k) != kcat_by_key.get(k)]
        fail("python consumer and kcat disagree on %d key(s), e.g. %s" % (len(diff), diff[:3]))
    print("confluent_kafka: %d messages, same count and same order per key (%d keys) as kcat" % (got, len(py_by_key)))


if __name__ == "__main__":
    main()
