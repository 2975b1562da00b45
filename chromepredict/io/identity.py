"""Does each track look like the mark it is given as? A check from the shape of the tracks' mean
profiles around the TSS, against a reference calibrated on the pipeline views of two Roadmap cell
types (``chromepredict/data/mark_identity.json``; ``python -m scripts.mark_reference`` rebuilds it).

Three statistics of a track's mean 5′→3′ profile over the genes' windows, each the log2 ratio of
two region means (a track times any factor, CPM or raw counts, has the same ones):

* ``sharpness``: ``[-500, 500)`` against the flanks ``[-5000, -2500)`` and ``[2500, 5000)`` —
  H3K4me3 is a promoter peak, H3K36me3 is depleted at the TSS, broad marks are nearly flat.
* ``peak``: ``[-300, 300)`` against its shoulders ``[-2000, -500)`` and ``[500, 2000)`` — H3K4me3
  peaks on the TSS; the other marks dip there (the nucleosome-depleted region).
* ``asymmetry``: downstream ``[1000, 5000)`` against upstream ``[-5000, -1000)`` — H3K36me3 rises
  into the gene body; H3K9me3 and H3K27me3 ignore the direction of transcription.

The reference holds each mark's range of each statistic per family of track, and the *orders*:
two marks whose statistic differed by at least ``MIN_GAP`` in every calibration sample, where one
of them is the mark the statistic characterises (:data:`CHARACTERISTIC`). Two checks, each silent
unless the evidence is clear (docs/benchmarks.md says what they were measured on):

* **swapped**: two given tracks of one family whose order is reversed by at least ``REVERSAL``;
  said as a swap when exchanging their marks leaves no reversal involving either, else the track in
  most reversals is said to be out of order;
* **alone**: a track ``FAR`` beyond its mark's range on an ordered statistic, towards the other
  mark, and nearer that mark's ranges than its own by ``FAR``, looks like that mark.

Not checked: marks beyond the five core ones, coarse tracks (≥ 1-kb bins blur the TSS), windows
that cannot resolve the regions (flank under 5 kb, bins over 250 bp), tracks with signal in fewer
than ``MIN_GENES`` genes' windows.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources

import numpy as np

from chromepredict.io.marks import CORE_MARKS

#: Statistic → (numerator regions, denominator regions), bp from the TSS, 5′→3′, half-open.
STATISTICS: dict[str, tuple[tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]]] = {
    "sharpness": (((-500, 500),), ((-5000, -2500), (2500, 5000))),
    "peak": (((-300, 300),), ((-2000, -500), (500, 2000))),
    "asymmetry": (((1000, 5000),), ((-5000, -1000),)),
}
#: The mark each statistic characterises, at its top and at its bottom: only orders that put a mark
#: where it belongs are used (H3K4me3 the most TSS-peaked, H3K36me3 the most TSS-depleted and the
#: most gene-body-biased). Orders between the other marks follow the cell type and the pipeline.
CHARACTERISTIC: dict[str, tuple[str | None, str | None]] = {
    "sharpness": ("H3K4me3", "H3K36me3"),
    "peak": ("H3K4me3", None),
    "asymmetry": ("H3K36me3", None),
}
#: Added to each region mean, as a share of the window's mean (see :func:`shape`).
PSEUDO = 0.1
#: How messages name the statistics.
PHRASES = {
    "sharpness": "TSS-to-flank ratio",
    "peak": "TSS-to-shoulder ratio",
    "asymmetry": "downstream-to-upstream ratio",
}
#: What the statistics need of a window.
MIN_FLANK, MAX_BIN = 5000, 250
#: Fewer genes with signal in a track's windows than this: the track is not checked (its mean profile
#: is a few genes', see docs/benchmarks.md for how the statistics scatter on random gene subsets).
MIN_GENES = 100
#: An order between two marks is kept when it is at least this wide (log2) in every calibration sample.
MIN_GAP = 0.75
#: Two tracks are said to be swapped when such an order is reversed by at least this (log2: 2-fold).
REVERSAL = 1.0
#: A track alone: this far (log2) beyond its mark's range, and this much nearer another mark's.
FAR = 1.5
#: Windows read backwards (a GTF's strands inverted, its TSS kept) are said when at least this many
#: tracks of the marks whose downstream-to-upstream ratio is above 1 in every calibration sample
#: (H3K36me3 into the gene body, H3K4me3 and H3K4me1 just downstream of the TSS) are checked, and
#: each lies at or below the mirror image of its mark's range.
MIN_ORIENTED = 2
#: Kinds of track (:attr:`TrackProfile.kind`) → the reference family they are compared with.
FAMILIES = {"counts": "signal", "signal": "signal", "peak-signal": "peaks"}


@dataclass(frozen=True)
class Checked:
    """One track that can be checked: its name for messages, its mark, family and statistics."""

    name: str
    mark: str
    family: str
    stats: dict[str, float]


@dataclass(frozen=True)
class Reference:
    """Per family, mark and statistic the calibrated [low, high] range; per family the orders between
    marks that held in every calibration sample: (statistic, higher mark, lower mark, least gap)."""

    ranges: dict[str, dict[str, dict[str, tuple[float, float]]]]
    orders: dict[str, list[tuple[str, str, str, float]]]

    @classmethod
    def from_json(cls, text: str) -> Reference:
        data = json.loads(text)
        ranges = {
            family: {
                mark: {s: (float(lo), float(hi)) for s, (lo, hi) in stats.items()}
                for mark, stats in marks.items()
            }
            for family, marks in data["ranges"].items()
        }
        orders = {
            family: [(o["statistic"], o["higher"], o["lower"], float(o["least_gap"])) for o in rows]
            for family, rows in data["orders"].items()
        }
        return cls(ranges, orders)

    def to_json(self, about: dict) -> str:
        """The reference as the package stores it, ``about`` (how it was made) first."""
        data = {
            **about,
            "ranges": {
                family: {
                    mark: {s: [round(lo, 3), round(hi, 3)] for s, (lo, hi) in stats.items()}
                    for mark, stats in marks.items()
                }
                for family, marks in self.ranges.items()
            },
            "orders": {
                family: [
                    {"statistic": s, "higher": hi, "lower": lo, "least_gap": round(gap, 3)}
                    for s, hi, lo, gap in rows
                ]
                for family, rows in self.orders.items()
            },
        }
        text = json.dumps(data, indent=1, ensure_ascii=False)
        # innermost lists and objects (a range, an order) on one line each: readable, and diffs stay small
        return re.sub(r"[\[{][^\[\]{}]*[\]}]", lambda m: " ".join(m.group(0).split()), text) + "\n"


def calibrate(samples: list[list[Checked]], subsets: Sequence[list[Checked]] = ()) -> Reference:
    """A reference from samples of correctly named tracks (one sample: the tracks of one cell type
    through one pipeline): each mark's range per family, and the orders with a least gap ≥ MIN_GAP
    that put a mark a statistic characterises where it belongs (:data:`CHARACTERISTIC`). The
    ``subsets`` (the same samples on a few of their genes) count for the orders alone: an order must
    hold on a few genes too, while a range is what a mark's whole tracks show."""
    values: dict[tuple[str, str, str], list[float]] = {}
    gaps: dict[tuple[str, str, str, str], list[float]] = {}
    for sample in samples:
        for a in sample:
            for statistic, value in a.stats.items():
                values.setdefault((a.family, a.mark, statistic), []).append(value)
    for sample in [*samples, *subsets]:
        for a in sample:
            for b in sample:
                if b.family == a.family and b.mark != a.mark:
                    for statistic in STATISTICS:
                        key = (a.family, statistic, a.mark, b.mark)
                        gaps.setdefault(key, []).append(a.stats[statistic] - b.stats[statistic])
    ranges: dict[str, dict[str, dict[str, tuple[float, float]]]] = {}
    for (family, mark, statistic), found in sorted(values.items()):
        ranges.setdefault(family, {}).setdefault(mark, {})[statistic] = (min(found), max(found))
    orders: dict[str, list[tuple[str, str, str, float]]] = {family: [] for family in ranges}
    for (family, statistic, higher, lower), found in sorted(gaps.items()):
        top, bottom = CHARACTERISTIC[statistic]
        if min(found) >= MIN_GAP and (higher == top or lower == bottom):
            orders[family].append((statistic, higher, lower, min(found)))
    return Reference(ranges, orders)


@cache
def reference() -> Reference:
    """The reference shipped with the package."""
    text = (resources.files("chromepredict") / "data" / "mark_identity.json").read_text(encoding="utf-8")
    return Reference.from_json(text)


def resolvable(edges: np.ndarray) -> bool:
    """Whether a window with these bin edges (bp from the TSS) resolves the statistics' regions."""
    return edges[0] <= -MIN_FLANK and edges[-1] >= MIN_FLANK and float(np.diff(edges).max()) <= MAX_BIN


def _region_mean(profile: np.ndarray, edges: np.ndarray, regions) -> float:
    """Mean of a binned profile over regions, each bin weighted by its overlap with them (bp)."""
    weights = np.zeros(len(profile))
    for lo, hi in regions:
        weights += np.clip(np.minimum(edges[1:], hi) - np.maximum(edges[:-1], lo), 0, None)
    return float(weights @ profile / weights.sum())


def shape(windows: np.ndarray, edges: np.ndarray) -> dict[str, float]:
    """The statistics of one track's windows ``[genes, bins]`` (5′→3′; ``edges`` of the bins in bp
    from the TSS). Each region mean gets a tenth of the window's mean added: a nearly empty region
    (the TSS of a peak-called H3K36me3 track) then gives a bounded, stable ratio instead of one that
    a few genes' reads decide."""
    profile = windows.mean(axis=0, dtype=np.float64)
    floor = PSEUDO * float(profile.mean()) or 1e-30
    return {
        name: float(
            np.log2(
                (_region_mean(profile, edges, numerator) + floor)
                / (_region_mean(profile, edges, denominator) + floor)
            )
        )
        for name, (numerator, denominator) in STATISTICS.items()
    }


def checkable(
    features: np.ndarray,
    minus: np.ndarray,
    edges: np.ndarray,
    genomic: bool,
    tracks: list[tuple[str, str, str]],
    min_genes: int = MIN_GENES,
) -> list[Checked]:
    """The tracks that can be checked: ``features`` [genes, marks, bins] in the window's order
    (``genomic`` order is turned 5′→3′ with ``minus``), ``tracks`` (name, mark, kind) per mark, each
    with signal in at least ``min_genes`` windows."""
    if not resolvable(edges):
        return []
    out = []
    for m, (name, mark, kind) in enumerate(tracks):
        if mark not in CORE_MARKS or kind not in FAMILIES:
            continue
        windows = features[:, m]
        if genomic:
            windows = np.where(minus[:, None], windows[:, ::-1], windows)
        if int((windows > 0).any(axis=1).sum()) < min_genes:
            continue
        out.append(Checked(name, mark, FAMILIES[kind], shape(windows, edges)))
    return out


def _distance(stats: dict[str, float], bounds: dict[str, tuple[float, float]]) -> float:
    """How far (log2, ≥ 0) a track's statistics lie outside a mark's ranges, on the worst one."""
    return max(max(bounds[s][0] - v, v - bounds[s][1], 0.0) for s, v in stats.items())


#: A calibrated order reversed between two given tracks: (track given as the higher mark, track given
#: as the lower, statistic).
Reversal = tuple[Checked, Checked, str]


def _reversals(checked: list[Checked], ref: Reference) -> list[Reversal]:
    """The pairs of tracks of one family whose calibrated order is reversed by at least REVERSAL
    (on the statistic that reverses it most)."""
    found = []
    for i, a in enumerate(checked):
        for b in checked[i + 1 :]:
            if a.family != b.family:
                continue
            worst: tuple[float, Reversal] | None = None
            for statistic, higher, lower, _ in ref.orders.get(a.family, []):
                if {a.mark, b.mark} == {higher, lower}:
                    up, down = (a, b) if a.mark == higher else (b, a)
                    by = down.stats[statistic] - up.stats[statistic]
                    if by >= REVERSAL and (worst is None or by > worst[0]):
                        worst = (by, (up, down, statistic))
            if worst is not None:
                found.append(worst[1])
    return found


def _involving(reversals: list[Reversal], names: set[str]) -> list[Reversal]:
    return [r for r in reversals if {r[0].name, r[1].name} & names]


def _explained(checked: list[Checked], ref: Reference) -> tuple[list[Reversal], list[Reversal]]:
    """The reversals explained by swaps — one per pair of tracks whose marks, exchanged, leave no
    reversal involving either (the pair that explains most first) — and those left over."""
    swaps: list[Reversal] = []
    tracks = list(checked)
    reversals = _reversals(tracks, ref)
    while reversals:
        best: tuple[int, Reversal] | None = None
        for up, down, statistic in reversals:
            names = {up.name, down.name}
            exchanged = [
                replace(t, mark=down.mark) if t is up else replace(t, mark=up.mark) if t is down else t
                for t in tracks
            ]
            if not _involving(_reversals(exchanged, ref), names):
                fixed = len(_involving(reversals, names))
                if best is None or fixed > best[0]:
                    best = (fixed, (up, down, statistic))
        if best is None:
            break
        up, down, _ = best[1]
        swaps.append(best[1])
        tracks = [t for t in tracks if t is not up and t is not down]
        reversals = [r for r in reversals if r not in _involving(reversals, {up.name, down.name})]
    return swaps, reversals


def _looks_like(track: Checked, ref: Reference) -> tuple[list[str], str] | None:
    """(the marks a track looks like, the statistic that says so) when, on a statistic that orders
    its mark and another, it lies at least FAR beyond everything its mark gave, towards the other
    mark, and the other mark's ranges are nearer than its own by at least FAR (on every statistic:
    a track unlike any mark is not said to be one)."""
    ranges = ref.ranges.get(track.family, {})
    own = ranges.get(track.mark)
    if own is None:
        return None
    distance = _distance(track.stats, own)
    like: dict[str, tuple[float, str]] = {}
    for statistic, higher, lower, _ in ref.orders.get(track.family, []):
        if track.mark not in (higher, lower) or (higher if track.mark == lower else lower) not in ranges:
            continue
        other = higher if track.mark == lower else lower
        lo, hi = own[statistic]
        beyond = lo - track.stats[statistic] if track.mark == higher else track.stats[statistic] - hi
        nearer = _distance(track.stats, ranges[other])
        if beyond >= FAR and nearer <= distance - FAR and nearer < like.get(other, (np.inf, ""))[0]:
            like[other] = (nearer, statistic)
    if not like:
        return None
    return sorted(like, key=lambda m: like[m][0]), min(like.values())[1]


def _values(statistic: str, *tracks: Checked) -> str:
    return ", ".join(f"{t.mark} track {t.stats[statistic]:+.1f}" for t in tracks)


def _mirrored(checked: list[Checked], ref: Reference) -> list[Checked]:
    """The oriented tracks (:data:`MIN_ORIENTED`) when all of them, at least that many, fall from
    upstream into the gene as far as their marks rise in the calibration samples; else []."""
    oriented = [
        t for t in checked if ref.ranges.get(t.family, {}).get(t.mark, {}).get("asymmetry", (0.0, 0.0))[0] > 0
    ]
    if len(oriented) < MIN_ORIENTED:
        return []
    low = {t.name: ref.ranges[t.family][t.mark]["asymmetry"][0] for t in oriented}
    return oriented if all(t.stats["asymmetry"] <= -low[t.name] for t in oriented) else []


#: What to check when tracks look swapped or out of order: the files, or every window's place (a GTF
#: whose TSSs are shifted by 1.5 kb or more blurs the promoter peak, which reads as H3K4me3 swapped
#: with H3K36me3 or out of order).
SWAP_FIX = "check which file holds which mark (if they are right, check the GTF's TSS positions)"
OUT_OF_ORDER_FIX = "check which mark the file holds (if it is right, check the GTF's TSS positions)"


def warnings_for(
    checked: list[Checked], ref: Reference | None = None, fix: str | None = None, backwards: bool = True
) -> list[str]:
    """The warnings for windows that look read backwards (:func:`_mirrored`; when ``backwards``), and
    for tracks that look like another mark than the one they are given as: pairs that look swapped,
    then tracks out of order with others, then single tracks not named yet; ``fix`` ends each in
    place of the files' advice (a CSV's columns)."""
    ref = ref or reference()
    warnings, named = [], set()
    mirrored = _mirrored(checked, ref) if backwards else []
    if mirrored:
        warnings.append(
            f"the tracks given as {', '.join(t.mark for t in mirrored)} fall from upstream of the TSS into the "
            f"gene ({PHRASES['asymmetry']}, log2: {_values('asymmetry', *mirrored)}), the mirror image of every "
            "calibration sample: is each gene's window read backwards (the GTF's strands inverted, its TSS "
            "kept)? check the GTF's strand column"
        )
    swaps, left = _explained(checked, ref)
    for up, down, statistic in swaps:
        warnings.append(
            f"{up.name} (given as {up.mark}) and {down.name} (given as {down.mark}) look swapped: here the "
            f"{down.mark} track has the higher {PHRASES[statistic]} (log2 {down.stats[statistic]:+.1f} against "
            f"{up.stats[statistic]:+.1f}), which {up.mark} has in every calibration sample; "
            f"{fix or SWAP_FIX}"
        )
        named.update({up.name, down.name})
    while left:  # reversals no swap explains: the track in most of them is out of order
        counts: dict[str, int] = {}
        for up, down, _ in left:
            for t in (up, down):
                counts[t.name] = counts.get(t.name, 0) + 1
        name = max(counts, key=lambda n: counts[n])
        mine = _involving(left, {name})
        track = next(t for t in (mine[0][0], mine[0][1]) if t.name == name)
        statistic = mine[0][2]
        others = [down if up.name == name else up for up, down, _ in mine]
        warnings.append(
            f"{track.name} (given as {track.mark}) is out of order with the tracks given as "
            f"{', '.join(o.mark for o in others)}: {PHRASES[statistic]} (log2) {_values(statistic, track, *others)}, "
            f"the reverse of every calibration sample; {fix or OUT_OF_ORDER_FIX}"
        )
        named.add(name)
        left = [r for r in left if r not in mine]
    for track in checked:
        found = None if track.name in named else _looks_like(track, ref)
        if found is None:
            continue
        like, statistic = found
        ranges = ref.ranges[track.family]
        spans = ", ".join(
            f"{m} {ranges[m][statistic][0]:+.1f} to {ranges[m][statistic][1]:+.1f}"
            for m in (track.mark, *like)
        )
        warnings.append(
            f"{track.name} is given as {track.mark} but looks like {' or '.join(like)}: its {PHRASES[statistic]} "
            f"is log2 {track.stats[statistic]:+.1f} (calibration tracks: {spans}); {fix or 'check which mark the file holds'}"
        )
    return warnings
