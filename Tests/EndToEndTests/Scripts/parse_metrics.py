#!/usr/bin/env python3
"""Parses a Prometheus text exposition from stdin with prometheus_client's parser (which
refuses malformed input) and prints every sample as one JSON object:
{"name{label=value,...}": value}, labels sorted."""
import json
import sys

from prometheus_client.parser import text_string_to_metric_families

samples = {}
for family in text_string_to_metric_families(sys.stdin.read()):
    for sample in family.samples:
        labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
        samples[f"{sample.name}{{{labels}}}"] = sample.value
print(json.dumps(samples))
