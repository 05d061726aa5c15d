"""Prometheus metrics, counted in each worker and rendered for the whole server.

Each worker counts in process; under ``arbiter serve --workers N`` every worker also writes
a snapshot of its counts where the others read it (``api.service``), and ``render`` adds them
up, so a scrape gives the server's totals whichever worker answers it.

Labels come from the resolved pack, never straight from the URL, so an unknown pack name
cannot grow the label set without bound.
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)

Labels = tuple[tuple[str, str], ...]

# Totals other parts of the server keep (the decision log's), by metric name: their HELP text.
# A part registers its names here and hands its values to ``Metrics.set_totals``, each under its
# name, or its name and labels (``name{label="value"}``) for a counter with labels.
TOTALS_HELP: dict[str, str] = {}


def _render_labels(labels: Labels, extra: tuple[tuple[str, str], ...] = ()) -> str:
    pairs = [*labels, *extra]
    if not pairs:
        return ""
    text = ",".join(f'{k}="{v.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"' for k, v in pairs)
    return "{" + text + "}"


class Metrics:
    def __init__(self) -> None:
        self.requests: dict[Labels, int] = defaultdict(int)
        self.latency_counts: dict[Labels, list[int]] = {}
        self.latency_sum: dict[Labels, float] = defaultdict(float)
        self.decisions: dict[Labels, int] = defaultdict(int)
        self.reloads: dict[Labels, int] = defaultdict(int)
        self.totals: dict[str, int] = defaultdict(int)
        # counted by the thread reading the shadow process's counts while the event loop renders: guarded (api.shadow)
        self.shadows: dict[Labels, int] = defaultdict(int)
        self.shadow_sampling: dict[Labels, int] = defaultdict(int)  # champion decisions of a shadowed pack, in the sample or not
        self._shadow_lock = threading.Lock()

    def observe(self, route: str, pack: str, version: str, status: int, seconds: float) -> None:
        labels = (("route", route), ("pack", pack), ("version", version), ("status", str(status)))
        self.requests[labels] += 1
        counts = self.latency_counts.get(labels)
        if counts is None:
            counts = self.latency_counts[labels] = [0] * (len(BUCKETS) + 1)
        counts[bisect_left(BUCKETS, seconds)] += 1
        self.latency_sum[labels] += seconds

    def decision(self, pack: str, version: str, outcome: str, count: int = 1) -> None:
        self.decisions[(("pack", pack), ("version", version), ("outcome", outcome))] += count

    def reload(self, result: str) -> None:
        self.reloads[(("result", result),)] += 1

    def shadow(self, pack: str, output: str, result: str, count: int = 1) -> None:
        """``count`` shadow comparisons' result for ``output`` ('' for the decision as a whole)."""
        with self._shadow_lock:
            self.shadows[(("pack", pack), ("output", output), ("result", result))] += count

    def shadow_sampled(self, pack: str, sampled: bool, count: int = 1) -> None:
        """``count`` champion decisions of a shadowed pack, sent to be compared or left out by ARBITER_SHADOW_SAMPLE."""
        with self._shadow_lock:
            self.shadow_sampling[(("pack", pack), ("sampled", "true" if sampled else "false"))] += count

    def set_totals(self, values: dict[str, int]) -> None:
        """This worker's current values of totals kept elsewhere (see ``TOTALS_HELP``)."""
        self.totals.update(values)

    def snapshot(self) -> dict[str, Any]:
        """The counts as JSON-ready lists, for another worker's ``render``."""
        return {
            "requests": [[k, v] for k, v in self.requests.items()],
            "latency": [[k, counts, self.latency_sum[k]] for k, counts in self.latency_counts.items()],
            "decisions": [[k, v] for k, v in self.decisions.items()],
            "reloads": [[k, v] for k, v in self.reloads.items()],
            "totals": dict(self.totals),
            "shadows": self._shadow_counts(),
            "shadow_sampling": [[k, v] for k, v in self._shadow_map()[1].items()],
        }

    def _shadow_counts(self) -> list[list[Any]]:
        return [[k, v] for k, v in self._shadow_map()[0].items()]

    def absorb(self, snapshot: dict[str, Any]) -> None:
        """Add another worker's counts to these."""
        for labels, value in snapshot.get("requests", []):
            self.requests[_labels(labels)] += value
        for labels, counts, total in snapshot.get("latency", []):
            key = _labels(labels)
            mine = self.latency_counts.setdefault(key, [0] * (len(BUCKETS) + 1))
            for i, count in enumerate(counts[: len(mine)]):
                mine[i] += count
            self.latency_sum[key] += float(total)  # seconds, not money: a snapshot read back gives a Decimal
        for labels, value in snapshot.get("decisions", []):
            self.decisions[_labels(labels)] += value
        for labels, value in snapshot.get("reloads", []):
            self.reloads[_labels(labels)] += value
        for name, value in snapshot.get("totals", {}).items():
            self.totals[str(name)] += int(value)
        for labels, value in snapshot.get("shadows", []):
            self.shadows[_labels(labels)] += value
        for labels, value in snapshot.get("shadow_sampling", []):
            self.shadow_sampling[_labels(labels)] += value

    def render(self, others: Iterable[dict[str, Any]] = ()) -> str:
        """Prometheus text of these counts plus the ``others`` (other workers' snapshots)."""
        published = list(others)
        if not published:
            return self._text()
        total = Metrics()
        for snapshot in (self.snapshot(), *published):
            total.absorb(snapshot)
        return total._text()

    def _text(self) -> str:
        out = [
            "# HELP arbiter_requests_total Requests by route, pack, version and HTTP status.",
            "# TYPE arbiter_requests_total counter",
        ]
        out += [f"arbiter_requests_total{_render_labels(k)} {v}" for k, v in sorted(self.requests.items())]
        out += [
            "# HELP arbiter_request_duration_seconds Time spent in the endpoint, by route, pack, version and status.",
            "# TYPE arbiter_request_duration_seconds histogram",
        ]
        for labels, counts in sorted(self.latency_counts.items()):
            running = 0
            for bound, count in zip(BUCKETS, counts, strict=False):
                running += count
                out.append(f"arbiter_request_duration_seconds_bucket{_render_labels(labels, (('le', str(bound)),))} {running}")
            running += counts[-1]
            out.append(f"arbiter_request_duration_seconds_bucket{_render_labels(labels, (('le', '+Inf'),))} {running}")
            out.append(f"arbiter_request_duration_seconds_sum{_render_labels(labels)} {self.latency_sum[labels]:.6f}")
            out.append(f"arbiter_request_duration_seconds_count{_render_labels(labels)} {running}")
        out += [
            "# HELP arbiter_decisions_total Decisions by pack, version and outcome (the 'decision' output, if any).",
            "# TYPE arbiter_decisions_total counter",
        ]
        out += [f"arbiter_decisions_total{_render_labels(k)} {v}" for k, v in sorted(self.decisions.items())]
        out += ["# HELP arbiter_reloads_total Pack reloads by result.", "# TYPE arbiter_reloads_total counter"]
        out += [f"arbiter_reloads_total{_render_labels(k)} {v}" for k, v in sorted(self.reloads.items())]
        family = ""
        for name, value in sorted(self.totals.items()):  # a name may carry its labels: 'x_total{status="431"}'
            if name.split("{", 1)[0] != family:
                family = name.split("{", 1)[0]
                kind = "counter" if family.endswith("_total") else "gauge"
                out += [f"# HELP {family} {TOTALS_HELP.get(family, family)}", f"# TYPE {family} {kind}"]
            out.append(f"{name} {value}")
        return "\n".join(out + _shadow_text(*self._shadow_map())) + "\n"

    def _shadow_map(self) -> tuple[dict[Labels, int], dict[Labels, int]]:
        with self._shadow_lock:
            return dict(self.shadows), dict(self.shadow_sampling)


def _shadow_text(counts: dict[Labels, int], sampling: dict[Labels, int]) -> list[str]:
    """Shadow comparisons by pack and result, by pack, output and result, and the agreement ratio of each."""
    out = []
    if sampling:
        out += ["# HELP arbiter_shadow_decisions_total Champion decisions of a shadowed pack, by whether they were sent "
                "to be compared (ARBITER_SHADOW_SAMPLE): sampled=\"true\" ones end as a comparison's result or skipped.",
                "# TYPE arbiter_shadow_decisions_total counter"]
        out += [f"arbiter_shadow_decisions_total{_render_labels(k)} {v}" for k, v in sorted(sampling.items())]
    if not counts:
        return out
    out += ["# HELP arbiter_shadow_comparisons_total Champion and challenger decisions compared, by pack and result "
           "(agree, disagree, challenger_error, skipped: the shadow process was behind).",
           "# TYPE arbiter_shadow_comparisons_total counter"]
    out += [f"arbiter_shadow_comparisons_total{_render_labels((k[0], k[2]))} {v}" for k, v in sorted(counts.items()) if k[1][1] == ""]
    out += ["# HELP arbiter_shadow_outputs_total Compared outputs by pack, output and result (agree, disagree).",
            "# TYPE arbiter_shadow_outputs_total counter"]
    out += [f"arbiter_shadow_outputs_total{_render_labels(k)} {v}" for k, v in sorted(counts.items()) if k[1][1] != ""]
    agree: dict[Labels, list[int]] = defaultdict(lambda: [0, 0])
    for (pack, output, result), value in counts.items():
        if result[1] in ("agree", "disagree"):
            agree[(pack, ("output", output[1] or "*"))][result[1] == "agree"] += value
    out += ["# HELP arbiter_shadow_agreement_ratio Share of comparisons where the challenger agreed, by pack and "
            "output ('*': the whole decision).", "# TYPE arbiter_shadow_agreement_ratio gauge"]
    out += [f"arbiter_shadow_agreement_ratio{_render_labels(k)} {a / (a + d):.6f}" for k, (d, a) in sorted(agree.items())]
    return out


def _labels(pairs: Any) -> Labels:
    return tuple((str(k), str(v)) for k, v in pairs)
