#!/usr/bin/env python3
"""The peer benchmark: Quix Streams counting the relay's input topic in 1-second tumbling
windows by event time (meta.dt), as the relay does.

Reads the topic from the start in a fresh consumer group and stops after COUNT records.
The time runs from the first record to the COUNT-th, not from subscribing (a group join takes
seconds). Prints one JSON line: {"events": N, "seconds": S, "events_per_s": R, "windows": W}.

Run by editpulse-bench (bench/src/counter.rs) with the venv scripts/bench.sh builds from
bench/quix-requirements.txt.

Shim for nisshi: nisshi's DescribeConfigs answers with no config entries, and Quix derives its
window store's changelog topic config from the source topic's `retention.ms`, which is then
missing (KeyError). We fill Kafka's defaults (`retention.ms` 7 days, `retention.bytes` -1) into
the topics' broker config before `derive_topic_config` reads it. Nothing else is changed.
"""

import argparse
import json
import logging
import sys
import time
from datetime import datetime

from quixstreams import Application
from quixstreams.models.topics.manager import TopicManager

KAFKA_DEFAULTS = {"retention.ms": "604800000", "retention.bytes": "-1"}

_derive = TopicManager.derive_topic_config.__func__


def _derive_with_defaults(cls, topics):
    topics = list(topics)
    for t in topics:
        extra = t.broker_config.extra_config
        for k, v in KAFKA_DEFAULTS.items():
            extra.setdefault(k, v)
    return _derive(cls, topics)


TopicManager.derive_topic_config = classmethod(_derive_with_defaults)


def event_time_ms(value, headers, timestamp, timestamp_type):
    """meta.dt (RFC 3339, e.g. 2026-08-04T15:24:29.724Z) in Unix milliseconds."""
    dt = value["meta"]["dt"]
    return int(datetime.fromisoformat(dt.replace("Z", "+00:00")).timestamp() * 1000)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--brokers", required=True)
    p.add_argument("--topic", required=True)
    p.add_argument("--group", required=True)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--state-dir", required=True)
    p.add_argument("--timeout", type=float, default=300.0)
    args = p.parse_args()

    app = Application(
        broker_address=args.brokers,
        consumer_group=args.group,
        auto_offset_reset="earliest",
        state_dir=args.state_dir,
        loglevel="WARNING",
    )
    topic = app.topic(
        args.topic,
        value_deserializer="json",
        key_deserializer="str",
        timestamp_extractor=event_time_ms,
    )
    sdf = app.dataframe(topic)

    seen = {"n": 0, "first": None, "last": None, "windows": 0}

    def tally(value):
        now = time.perf_counter()
        if seen["first"] is None:
            seen["first"] = now
        seen["n"] += 1
        if seen["n"] >= args.count and seen["last"] is None:
            seen["last"] = now
            app.stop()
        return value

    def closed(window):
        seen["windows"] += 1
        return window

    sdf = sdf.update(tally)
    # Counts per key (wiki) per second, like the relay's per-wiki tallies; grace = the relay's
    # default watermark delay.
    sdf = sdf.tumbling_window(duration_ms=1000, grace_ms=2000).count().final()
    sdf = sdf.update(closed)

    started = time.perf_counter()
    app.run(timeout=args.timeout)
    if seen["last"] is None:
        print(
            f"quix_count: read {seen['n']} of {args.count} records in "
            f"{time.perf_counter() - started:.1f} s",
            file=sys.stderr,
        )
        sys.exit(1)
    secs = max(seen["last"] - seen["first"], 1e-9)
    # The first record is the start mark; the other count - 1 are what was timed.
    print(
        json.dumps(
            {
                "events": args.count,
                "seconds": secs,
                "events_per_s": (args.count - 1) / secs,
                "windows": seen["windows"],
            }
        )
    )


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    main()
