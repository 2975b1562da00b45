"""How often "the predictions run clearly against the truth" is said, by simulation: the warning of
``predict --expression`` and ``evaluate`` (``Target.against``; thresholds in
``chromepredict/models/targets.py``), asked of the class and level targets.

Silent cases (a warning here is a false alarm):

- a class model at chance: P(high) independent of the labels;
- a weak class model: AUC about 0.6;
- a level model at chance, and a weak negative trend (Spearman about −0.03, significant over
  20,000 genes, yet no evidence of inverted values).

Said cases (a warning is what should happen):

- a good class model (AUC about 0.8) with its labels inverted (1 = low); a fair (0.7) and a weak
  (0.6) one, to show where the rule stops (it needs AUC ≤ 0.35: a weak model's inverted labels,
  AUC about 0.4, are not said);
- a good level model (Spearman about 0.6) against negated values or ranks from highest.

Each case is drawn ``--repeats`` times (seeded) at 369 genes (the bundled example) and at 20,000
(genome-wide); the table gives how often the warning was said.

    python -m benchmarks.contrary [--repeats 200]
"""

from __future__ import annotations

import argparse

import numpy as np
from scipy.stats import norm

from chromepredict.models.targets import get_target


def class_case(rng: np.random.Generator, n: int, auc: float, inverted: bool) -> tuple[np.ndarray, np.ndarray]:
    """Balanced labels and P(high) whose AUC is about ``auc`` (binormal, equal variances)."""
    labels = rng.permutation(np.arange(n) % 2)
    shift = np.sqrt(2) * norm.ppf(auc)
    p_high = 1 / (1 + np.exp(-(rng.normal(size=n) + shift * labels)))
    return (1 - labels if inverted else labels), p_high


def level_case(rng: np.random.Generator, n: int, rho: float, truth: str) -> tuple[np.ndarray, np.ndarray]:
    """Measured levels and predictions correlated about ``rho``; ``truth`` as given: the values,
    negated, or ranks from highest (1 = highest)."""
    measured = rng.gamma(1.0, 3.0, size=n)
    z = (measured - measured.mean()) / measured.std()
    predicted = rho * z + np.sqrt(1 - rho**2) * rng.normal(size=n)
    if truth == "negated":
        return -measured, predicted
    if truth == "ranks":
        return np.argsort(np.argsort(-measured)) + 1.0, predicted
    return measured, predicted


CASES = [
    # (label, target, draw(rng, n), what the warning should do: said, silent, or either (by design))
    ("class model at chance", "class", lambda rng, n: class_case(rng, n, 0.5, False), "silent"),
    ("weak class model (AUC ~0.6)", "class", lambda rng, n: class_case(rng, n, 0.6, False), "silent"),
    ("good class model, labels inverted", "class", lambda rng, n: class_case(rng, n, 0.8, True), "said"),
    ("fair class model (AUC ~0.7), inverted", "class", lambda rng, n: class_case(rng, n, 0.7, True), "said"),
    (
        "weak class model (AUC ~0.6), inverted",
        "class",
        lambda rng, n: class_case(rng, n, 0.6, True),
        "either",
    ),
    ("level model at chance", "level", lambda rng, n: level_case(rng, n, 0.0, "values"), "silent"),
    (
        "weak negative trend (rho ~ -0.03)",
        "level",
        lambda rng, n: level_case(rng, n, -0.03, "values"),
        "silent",
    ),
    ("good level model, values negated", "level", lambda rng, n: level_case(rng, n, 0.6, "negated"), "said"),
    (
        "good level model, ranks (1 = highest)",
        "level",
        lambda rng, n: level_case(rng, n, 0.6, "ranks"),
        "said",
    ),
]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    sizes = (369, 20_000)
    print(f"{'case':40s} {'expected':>9s} " + " ".join(f"{f'said, {n} genes':>18s}" for n in sizes))
    for label, target_name, draw, expected in CASES:
        target = get_target(target_name)
        counts = []
        for n in sizes:
            rng = np.random.default_rng([args.seed, n])
            said = sum(target.against(*draw(rng, n)) is not None for _ in range(args.repeats))
            counts.append(f"{said} of {args.repeats}")
        print(f"{label:40s} {expected:>9s} " + " ".join(f"{c:>18s}" for c in counts))


if __name__ == "__main__":
    main()
