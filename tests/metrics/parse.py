"""Reads a Prometheus text exposition on stdin and prints its samples as JSON.

Parsed with the reference Python client's parser (prometheus_client), so the
exposition the server writes is checked by an independent reader. Output: a
list of {"family", "type", "name", "labels", "value"}; a parse error exits
non-zero with the reason on stderr.
"""

import json
import sys

from prometheus_client.parser import text_string_to_metric_families


def main() -> None:
    samples = []
    for family in text_string_to_metric_families(sys.stdin.read()):
        for s in family.samples:
            samples.append(
                {
                    "family": family.name,
                    "type": family.type,
                    "name": s.name,
                    "labels": s.labels,
                    "value": s.value,
                }
            )
    json.dump(samples, sys.stdout)


if __name__ == "__main__":
    main()
