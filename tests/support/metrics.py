"""Reading /metrics as Prometheus would: the text format, parsed, and one sample's value by name and labels."""

from __future__ import annotations

from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families


def scrape(client: FlaskClient, remote_addr: str = "127.0.0.1") -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """GET /metrics from `remote_addr`: every sample, by (name, sorted labels)."""
    resp = client.get("/metrics", environ_base={"REMOTE_ADDR": remote_addr})
    assert resp.status_code == 200, resp.status_code
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(resp.get_data(as_text=True)) for s in family.samples}


def value(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    """One sample's value (0 when it is not there yet: a counter not yet counted)."""
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)
