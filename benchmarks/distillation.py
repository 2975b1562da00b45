"""Would one distilled network keep the default model's calls? (issue 26: tried, not shipped)

The shipped default model (five networks) is the teacher. A single network of the members' shape
learns the teacher's log-odds on windows of 80 % of the genes in every pipeline view of both cell
types (half as read; half shifted by up to ``--reach`` bins, with random marks hidden and, with
``--recombined``, marks of random other genes); the other 20 % of the genes (the same in every
view) are held out from it. Per view, on the held-out genes: the share of calls (P(high) ≥ 0.5)
the student and each of the teacher's own networks share with the teacher, both ROC AUCs against
the cell type's labels, and how two seeds' students agree. Then the network alone in onnxruntime:
seconds for 20,000 genes, teacher and student. Results: docs/benchmarks.md ("Distillation, tried").

    python -m benchmarks.distillation [--epochs 60] [--reach 0] [--recombined 0] [--hidden 64]
                                      [--seeds 0 1] [--out /tmp/distil]
    python -m benchmarks.distillation --speed-only STUDENT.onnx
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from chromepredict import DEFAULT_MODEL
from chromepredict.io.features import WindowSpec
from chromepredict.models.metrics import roc_auc
from chromepredict.models.networks import Ensemble, MaskedChrome, folded
from chromepredict.models.onnx_io import LoadedModel, export_onnx
from chromepredict.models.training import (
    TrainedModel,
    TrainingArrays,
    one_torch_thread,
    seed_torch,
    subset_masks,
)
from chromepredict.models.zoo import open_model
from chromepredict.results.explain import torch_network
from chromepredict.system.report import Report
from scripts.build_pretrained import load
from scripts.views import VIEWS

#: How the student is trained: Adam with a one-cycle schedule, batches of 256, no dropout; half the
#: draws are the windows as the model reads them (centred, every mark), the others are shifted by up
#: to ``--reach`` bins and hide each mark with probability MARK_DROPOUT (as ``predict`` scores
#: missing marks), their marks taken from random other genes with probability ``--recombined``.
LR, BATCH_SIZE, AS_READ, MARK_DROPOUT = 2e-3, 256, 0.5, 0.5
LOGIT_BOUND = 14.0  # the teacher's log-odds are learnt within ±14 (P(high) within 1e-6 of 0 or 1)


def teacher_logodds(members: list[torch.Tensor]) -> torch.Tensor:
    """The log-odds of the ensemble's P(high) (the mean of its networks')."""
    p_high = torch.stack([torch.softmax(o[:, :2].double(), 1)[:, 1] for o in members]).mean(dim=0)
    return torch.logit(p_high, eps=1e-12).clamp(-LOGIT_BOUND, LOGIT_BOUND).float()


def draw(x: torch.Tensor, rows: torch.Tensor, bins: int, recombined: float, generator: torch.Generator):
    """Windows of ``bins`` bins of the wide windows ``x`` [genes, marks, wide] for ``rows``, with masks."""
    n, marks, wide = len(rows), x.shape[1], x.shape[2]
    reach = (wide - bins) // 2
    as_read = torch.rand(n, generator=generator) < AS_READ
    shift = torch.where(as_read, 0, torch.randint(-reach, reach + 1, (n,), generator=generator))
    mask = torch.where(as_read[:, None], 1.0, subset_masks((n, marks), MARK_DROPOUT, generator))
    recombine = (torch.rand(n, generator=generator) < recombined) & ~as_read
    donors = torch.randint(0, len(x), (n, marks), generator=generator)
    source = torch.where(recombine[:, None], donors, rows[:, None].expand(n, marks))
    picked = x[source, torch.arange(marks)[None, :]]  # [n, marks, wide]
    index = ((reach + shift)[:, None] + torch.arange(bins)[None, :])[:, None, :].expand(n, marks, bins)
    return torch.gather(picked, 2, index), mask


def distil(
    teacher: TrainedModel,
    data: TrainingArrays,
    bins: int,
    seed: int,
    epochs: int,
    recombined: float,
    hidden: int,
):
    """One network of the members' shape trained to give ``teacher``'s log-odds on windows of ``data``."""
    wide = torch.from_numpy(teacher.transform.apply(data.features, data.scales))
    rows, marks = wide.shape[:2]
    losses = []
    with one_torch_thread():
        seed_torch(seed)
        teacher_net = folded(teacher.ensemble)  # the same values, at half the convolution's cost
        student = MaskedChrome(marks, bins, hidden=hidden, dropout=0.0, outputs=2)
        optimizer = torch.optim.Adam(student.parameters(), lr=LR)
        steps = epochs * -(-rows // BATCH_SIZE)
        schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, LR, total_steps=steps)
        generator = torch.Generator().manual_seed(seed)
        for _ in range(epochs):
            student.train()
            total = 0.0
            order = torch.randperm(rows, generator=generator)
            for start in range(0, rows, BATCH_SIZE):
                x, mask = draw(wide, order[start : start + BATCH_SIZE], bins, recombined, generator)
                with torch.no_grad():
                    wanted = teacher_logodds([m(x, mask) for m in teacher_net.members])
                out = student(x, mask)
                loss = torch.nn.functional.mse_loss(out[:, 1] - out[:, 0], wanted)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                schedule.step()
                total += float(loss.detach()) * len(x)
            losses.append(total / rows)
    ensemble = Ensemble([student.eval()], teacher.target).eval()
    return replace(teacher, ensemble=ensemble, best_epochs=[epochs]), losses


def _scorer(model: LoadedModel, ensemble: Ensemble) -> TrainedModel:
    """``ensemble`` under ``model``'s transform and target, scored in torch (``TrainedModel.predict``)."""
    return TrainedModel(ensemble, model.transform, "masked", model.card.recipe, model.target, [], [], "cpu")


def network_speed(model: LoadedModel, student_onnx: Path, n_genes: int = 20_000, repeats: int = 3) -> None:
    """Seconds for ``n_genes`` random windows through each graph in onnxruntime, one thread, best of
    ``repeats``, in the batches ``predict`` scores."""
    import onnxruntime as ort

    from chromepredict.models.onnx_io import BATCH

    n_marks, n_bins = len(model.marks), model.spec.n_bins
    x = np.random.default_rng(0).normal(size=(n_genes, n_marks, n_bins)).astype(np.float32)
    mask = np.ones((n_genes, n_marks), np.float32)
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    seconds = {}
    for name, path in (("teacher (5 networks)", model.path), ("student (1 network)", student_onnx)):
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        names = [i.name for i in session.get_inputs()]
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            for at in range(0, n_genes, BATCH):
                feed = {"features": x[at : at + BATCH]} | (
                    {"mask": mask[at : at + BATCH]} if "mask" in names else {}
                )
                session.run(None, feed)
            times.append(time.perf_counter() - start)
        seconds[name] = min(times)
        print(
            f"network alone, {name}: {seconds[name]:.3f} s for {n_genes} genes (one thread, best of {repeats})"
        )
    print(f"student / teacher: ×{seconds['student (1 network)'] / seconds['teacher (5 networks)']:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/roadmap"))
    parser.add_argument("--views-dir", type=Path, default=Path("/tmp/chromepredict-views"))
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument(
        "--hidden", type=int, default=64, help="the student's hidden units (the members': 64)"
    )
    parser.add_argument(
        "--recombined", type=float, default=0.0, help="share of shifted draws with marks of random genes"
    )
    parser.add_argument("--reach", type=int, default=0, help="bins a training window may shift by")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--out", type=Path, default=Path("/tmp/distil"))
    parser.add_argument(
        "--speed-only", type=Path, help="a student's ONNX file: time it against the teacher, nothing else"
    )
    args = parser.parse_args()
    if args.speed_only:
        network_speed(open_model(DEFAULT_MODEL, Report.silent()), args.speed_only)
        return
    args.out.mkdir(parents=True, exist_ok=True)

    model = open_model(DEFAULT_MODEL, Report.silent())
    teacher = _scorer(model, torch_network(model))
    start = time.perf_counter()
    sets = {eid: load(args.data, args.views_dir, eid, tuple(VIEWS)) for eid in model.card.cell_types}
    print(
        f"read {sum(len(v) for v in sets.values())} views in {time.perf_counter() - start:.0f} s", flush=True
    )
    n_genes = len(next(iter(sets["E003"].values())).genes)
    held = np.zeros(n_genes, dtype=bool)
    held[np.random.default_rng(26).permutation(n_genes)[: n_genes // 5]] = True
    spec = WindowSpec(5000 + 100 * args.reach, 100)  # windows `reach` bins wider on each side
    wide = (
        {eid: load(args.data, args.views_dir, eid, tuple(VIEWS), spec) for eid in sets}
        if args.reach
        else sets
    )
    train = TrainingArrays.stack(
        [part.subset(np.flatnonzero(~held)) for v in wide.values() for part in v.values()]
    )
    print(f"{len(train.features)} training windows, {held.sum()} held-out genes per view", flush=True)

    rows = []
    students = {}
    members = [_scorer(model, Ensemble([m], model.target).eval()) for m in teacher.ensemble.members]
    for seed in args.seeds:
        start = time.perf_counter()
        student, losses = distil(
            teacher, train, model.spec.n_bins, seed, args.epochs, args.recombined, args.hidden
        )
        print(f"seed {seed}: {args.epochs} epochs in {time.perf_counter() - start:.0f} s, "
              f"loss {[round(loss, 4) for loss in losses[:: max(1, len(losses) // 10)]]}", flush=True)  # fmt: skip
        students[seed] = student
        export_onnx(student.ensemble, len(model.marks), model.spec.n_bins, args.out / f"student{seed}.onnx")
    for eid, views in sets.items():
        for view, part in views.items():
            test = part.subset(np.flatnonzero(held))
            labels = test.labels
            p_teacher = teacher.predict(test)
            row = {"cell_type": eid, "view": view, "auc_teacher": roc_auc(labels, p_teacher)}
            for k, member in enumerate(members):  # each of the teacher's own networks alone, for reference
                row[f"agree_member{k}"] = float(np.mean((member.predict(test) >= 0.5) == (p_teacher >= 0.5)))
            calls = {}
            for seed, student in students.items():
                p = student.predict(test)
                calls[seed] = p >= 0.5
                row[f"agree_{seed}"] = float(np.mean(calls[seed] == (p_teacher >= 0.5)))
                row[f"auc_{seed}"] = roc_auc(labels, p)
                row[f"max_abs_p_{seed}"] = float(np.max(np.abs(p - p_teacher)))
            if len(calls) > 1:
                first, *others = calls.values()
                row["seeds_agree"] = float(min(np.mean(first == o) for o in others))
            rows.append(row)
            print(row, flush=True)
    network_speed(model, args.out / f"student{args.seeds[0]}.onnx")
    table = pd.DataFrame(rows)
    table.to_csv(args.out / "agreement.tsv", sep="\t", index=False)
    print(table.round(4).to_string(index=False))
    print(summary(table, args.seeds))


def summary(table: pd.DataFrame, seeds: list[int]) -> str:
    """The figures docs/benchmarks.md quotes: the students' calls shared with the teacher (mean over
    view × seed cells, worst cell, share of cells ≥ 99 %), their AUC change, the two seeds' worst
    agreement, and the same share for each of the teacher's own networks alone."""
    agree = table[[f"agree_{s}" for s in seeds]].to_numpy()
    change = np.concatenate([table[f"auc_{s}"] - table["auc_teacher"] for s in seeds])
    members = table.filter(regex=r"^agree_member").to_numpy()
    lines = [
        f"students: calls shared {agree.mean():.4f} mean, {agree.min():.4f} worst cell, "
        f"{(agree >= 0.99).mean():.0%} of cells ≥ 99 %; AUC change {change.mean():+.4f} mean, "
        f"{np.abs(change).max():.4f} largest"
    ]
    if members.size:  # (tables of the first runs lack these columns)
        lines.append(
            f"each network of the teacher alone: calls shared {members.mean():.4f} mean, {members.min():.4f} worst"
        )
    if "seeds_agree" in table:
        lines.append(
            f"two seeds: {table['seeds_agree'].min():.4f} worst view, {table['seeds_agree'].mean():.4f} mean"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
