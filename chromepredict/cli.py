"""The Typer app: options, help text, progress display and exit codes. No science here."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
import typer.core
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from chromepredict import __version__
from chromepredict.errors import UserError


class _Group(typer.core.TyperGroup):
    """Turns a UserError from any command into one line on stderr and exit code 2."""

    def invoke(self, ctx: typer.Context):
        try:
            return super().invoke(ctx)
        except UserError as exc:
            one_line = " ".join(str(exc).split())  # library messages may hold newlines
            err.print(f"[bold red]error:[/] {escape(one_line)}", highlight=False, soft_wrap=True)
            ctx.exit(2)


err = Console(stderr=True)
app = typer.Typer(
    cls=_Group,
    name="chromepredict",
    help="Predict gene expression (high/low) from histone-mark bigWigs and explain it (DeepChrome).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
state = {"quiet": False}

Tracks = Annotated[
    list[Path] | None,
    typer.Argument(help="bigWig per core mark; the mark is read from the file name.", show_default=False),
]
Gtf = Annotated[Path | None, typer.Option("--gtf", help="Gene annotation (GTF, may be gzipped).")]
MarkOpt = Annotated[
    list[str] | None,
    typer.Option("--mark", help="Name a track's mark explicitly: MARK=PATH (repeatable)."),
]
FlankOpt = Annotated[int, typer.Option(help="Window half-width around the TSS, bp.")]
BinOpt = Annotated[int, typer.Option("--bin-size", help="Bin width, bp.")]
OrientationOpt = Annotated[
    str,
    typer.Option(help="5to3: bins run 5′→3′ of the gene (minus strand reversed); genomic: genome order."),
]
GeneTypeOpt = Annotated[str, typer.Option("--gene-type", help="Keep genes of this gene_type/gene_biotype.")]
AllGenesOpt = Annotated[bool, typer.Option("--all-genes", help="Keep every gene, whatever its type.")]
ThreadsOpt = Annotated[int, typer.Option("--threads", "-p", min=1, help="Processes reading bigWigs.")]


def info(message: str) -> None:
    """A status line on stderr unless --quiet."""
    if not state["quiet"]:
        err.print(message, highlight=False, soft_wrap=True)


@contextlib.contextmanager
def progress_bar(label: str, total: int) -> Iterator:
    """A Rich progress bar on stderr; yields a callback advancing it by n."""
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        disable=state["quiet"] or not err.is_terminal,  # no bar in pipeline logs
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=total)

        def advance(n: int, description: str | None = None) -> None:
            bar.update(task, advance=n, **({"description": description} if description else {}))

        yield advance


def version_callback(value: bool) -> None:
    if value:
        typer.echo(f"chromepredict {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress or status on stderr.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=version_callback, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """Predict gene expression (high/low) from histone-mark bigWigs and explain it (DeepChrome)."""
    state["quiet"] = quiet


def load_track_features(
    tracks: list[Path] | None,
    gtf: Path | None,
    marks: list[str] | None,
    flank: int,
    bin_size: int,
    orientation: str,
    gene_type: str,
    all_genes: bool,
    threads: int,
):
    """bigWigs + GTF → FeatureSet, reporting genes on chromosomes the tracks lack."""
    from chromepredict.annotation import read_tss
    from chromepredict.features import WindowSpec
    from chromepredict.marks import assign_marks
    from chromepredict.signal import extract, track_chroms

    spec = WindowSpec(flank, bin_size, orientation)
    if gtf is None:
        raise UserError("--gtf is required with bigWig tracks; give the gene annotation (GTF)")
    files = assign_marks([str(t) for t in tracks or []], marks or [])
    for path in files.values():
        track_chroms(path)  # fail fast on a missing or non-bigWig file
    genes = read_tss(gtf, None if all_genes else gene_type)
    info(
        f"{len(genes)} genes from {gtf}; marks: " + ", ".join(f"{m}={Path(p).name}" for m, p in files.items())
    )
    with progress_bar("reading bigWigs", len(genes) * len(files)) as advance:
        data, dropped = extract(genes, files, spec, threads=threads, progress=advance)
    if len(dropped):
        examples = ", ".join(
            f"{g} ({c})" for g, c in zip(dropped["gene_id"][:3], dropped["chrom"][:3], strict=False)
        )
        chroms = ", ".join(sorted(dropped["chrom"].unique())[:5])
        info(
            f"[yellow]warning:[/] {len(dropped)} genes skipped: their chromosome is not in every "
            f"bigWig ({chroms}); e.g. {examples}"
        )
    return data


@app.command()
def extract(
    tracks: Tracks = None,
    gtf: Gtf = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="Output .npz (array + gene table).")] = Path(
        "features.npz"
    ),
    tsv: Annotated[Path | None, typer.Option("--tsv", help="Also write a long-format TSV here.")] = None,
    mark: MarkOpt = None,
    flank: FlankOpt = 5000,
    bin_size: BinOpt = 100,
    orientation: OrientationOpt = "5to3",
    gene_type: GeneTypeOpt = "protein_coding",
    all_genes: AllGenesOpt = False,
    threads: ThreadsOpt = 1,
) -> None:
    """Read TSS-centred bins from bigWigs into an array [genes, marks, bins]."""
    data = load_track_features(tracks, gtf, mark, flank, bin_size, orientation, gene_type, all_genes, threads)
    data.save_npz(output)
    if tsv is not None:
        data.write_tsv(tsv)
    n, m, b = data.features.shape
    info(f"wrote {output} ({n} genes × {m} marks × {b} bins, orientation {data.spec.orientation})")


ExpressionOpt = Annotated[
    Path | None,
    typer.Option("--expression", help="Expression table (gene id + RPKM/TPM/counts); high = above median."),
]
CsvDirOpt = Annotated[
    Path | None,
    typer.Option("--csv-dir", help="Folder with DeepChrome train.csv, valid.csv (, test.csv)."),
]
RemcOpt = Annotated[
    Path | None,
    typer.Option("--remc-root", help="Folder of <EID>/classification/ folders: one model per cell type."),
]
SeedOpt = Annotated[int, typer.Option(help="Random seed (splits, initialisation, batches).")]
DeviceOpt = Annotated[str, typer.Option(help="auto (CUDA when present), cpu or cuda.")]
ArchitectureOpt = Annotated[
    str,
    typer.Option(
        help="deepchrome (default recipe, see docs/benchmarks.md) or deepchrome-2016 (as published)."
    ),
]


def labelled_tracks(
    tracks, gtf, expression, marks, flank, bin_size, orientation, gene_type, all_genes, threads
):
    """bigWigs + GTF + expression table → labelled FeatureSet."""
    from chromepredict.datasets import attach_labels, read_expression

    if expression is None:
        raise UserError("--expression is required with bigWig tracks; give a table of gene ids and RPKM/TPM")
    values = read_expression(expression)
    info(f"expression {expression}: {values.summary()}")
    data = load_track_features(
        tracks, gtf, marks, flank, bin_size, orientation, gene_type, all_genes, threads
    )
    labelled, missing = attach_labels(data, values)
    if missing:
        info(f"[yellow]warning:[/] {missing} genes have no value in {expression} and are left out")
    if len(labelled.labels) == 0:
        raise UserError(f"{expression}: no gene id matches the GTF's gene_id; use ids of the same annotation")
    return labelled


def training_sets(tracks, gtf, expression, csv_dir, remc_root, extraction, seed, need_test=False):
    """{cell type: (splits, source description)} from tracks, one CSV folder, or a REMC root."""
    from chromepredict.workflows import SPLIT_NOTE, csv_training_sets, split_tracks

    given = [bool(tracks), csv_dir is not None, remc_root is not None]
    if sum(given) != 1:
        raise UserError(
            "give exactly one data source: bigWig tracks with --gtf/--expression, --csv-dir or --remc-root"
        )
    if tracks:
        data = labelled_tracks(tracks, gtf, expression, *extraction)
        source = {
            "source": "tracks",
            "tracks": [str(t) for t in tracks],
            "gtf": str(gtf),
            "expression": str(expression),
            "split": SPLIT_NOTE["chromosome"],
        }
        return {"tracks": (split_tracks(data, seed), source)}
    return csv_training_sets(csv_dir, remc_root, seed, need_test)


@app.command()
def train(
    tracks: Tracks = None,
    gtf: Gtf = None,
    expression: ExpressionOpt = None,
    csv_dir: CsvDirOpt = None,
    remc_root: RemcOpt = None,
    output: Annotated[
        Path,
        typer.Option("--output", "-o", help="Output folder (one subfolder per cell type with --remc-root)."),
    ] = Path("model"),
    architecture: ArchitectureOpt = "deepchrome",
    transform: Annotated[
        str | None,
        typer.Option(help="Override the input transform: raw, log1p, sample-log1p or sample-quantile."),
    ] = None,
    seed: SeedOpt = 0,
    device: DeviceOpt = "auto",
    max_epochs: Annotated[
        int | None, typer.Option("--max-epochs", min=1, help="Cap on epochs (default: the recipe's).")
    ] = None,
    genome_build: Annotated[
        str | None, typer.Option("--genome-build", help="Recorded in the model card, e.g. hg19.")
    ] = None,
    name: Annotated[
        str | None, typer.Option(help="Model name for the card (default: output folder name).")
    ] = None,
    mark: MarkOpt = None,
    flank: FlankOpt = 5000,
    bin_size: BinOpt = 100,
    orientation: OrientationOpt = "5to3",
    gene_type: GeneTypeOpt = "protein_coding",
    all_genes: AllGenesOpt = False,
    threads: ThreadsOpt = 1,
) -> None:
    """Train a DeepChrome model from tracks + expression, a CSV folder, or every REMC cell type."""
    from chromepredict.training import get_recipe, resolve_device
    from chromepredict.workflows import train_model

    recipe = get_recipe(architecture)
    extraction = (mark, flank, bin_size, orientation, gene_type, all_genes, threads)
    sets = training_sets(tracks, gtf, expression, csv_dir, remc_root, extraction, seed)
    device = resolve_device(device)
    info(f"training on {device}")
    if remc_root is not None:
        output.mkdir(parents=True, exist_ok=True)
    summary = []
    for cell_type, (splits, source) in sets.items():
        outdir = output / cell_type if remc_root is not None else output
        label = cell_type if remc_root is not None else (name or output.name)
        sizes = ", ".join(f"{k} {len(v.labels)}" for k, v in splits.items())
        info(f"{label}: {sizes} genes; {source['split']}")
        epochs = max_epochs or recipe.max_epochs
        with progress_bar(f"{label} epochs", epochs) as advance:

            def on_epoch(entry, advance=advance, label=label):
                advance(1, f"{label} valid AUC {entry.valid_auc:.3f}")

            card = train_model(
                splits, outdir, label, architecture, seed, device, source, transform, max_epochs, on_epoch,
                {"genome_build": genome_build} if genome_build else None,
            )  # fmt: skip
        scores = card["metrics"]
        test_auc = scores.get("test", {}).get("roc_auc", float("nan"))
        summary.append(
            {
                "cell_type": label,
                "best_epoch": card["best_epoch"],
                "valid_auc": scores["valid"]["roc_auc"],
                "test_auc": test_auc,
            }
        )
        test_text = f", test AUC {test_auc:.3f}" if "test" in scores else ""
        info(
            f"{label}: epoch {card['best_epoch']}, valid AUC {scores['valid']['roc_auc']:.3f}{test_text} → {outdir}"
        )
    if remc_root is not None:
        import pandas as pd

        from chromepredict.files import atomic_path

        with atomic_path(output / "summary.tsv") as tmp:
            pd.DataFrame(summary).to_csv(tmp, sep="\t", index=False, float_format="%.4f")
        info(f"wrote {output / 'summary.tsv'}")


@app.command()
def evaluate(
    tracks: Tracks = None,
    model: Annotated[
        str, typer.Option("--model", "-m", help="Pretrained name, .onnx file or train output folder.")
    ] = "",
    gtf: Gtf = None,
    expression: ExpressionOpt = None,
    csv: Annotated[
        Path | None, typer.Option("--csv", help="A DeepChrome CSV with labels (e.g. test.csv).")
    ] = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="Output folder.")] = Path("evaluation"),
    mark: MarkOpt = None,
    gene_type: GeneTypeOpt = "protein_coding",
    all_genes: AllGenesOpt = False,
    threads: ThreadsOpt = 1,
) -> None:
    """ROC/PR AUC of a model on labelled genes; per-gene TSV and ROC curve PNG."""
    from chromepredict.datasets import read_deepchrome_csv
    from chromepredict.workflows import evaluate_model
    from chromepredict.zoo import open_model

    if not model:
        raise UserError(
            "--model is required: a pretrained name (chromepredict models), a .onnx file or a train folder"
        )
    loaded = open_model(model)
    if (csv is None) == (not tracks):
        raise UserError("give either bigWig tracks with --gtf/--expression, or --csv")
    if csv is not None:
        data, source = read_deepchrome_csv(csv), str(csv)
    else:
        spec = loaded.spec
        data = labelled_tracks(
            tracks,
            gtf,
            expression,
            mark,
            spec.flank,
            spec.bin_size,
            spec.orientation,
            gene_type,
            all_genes,
            threads,
        )
        source = str(expression)
    result = evaluate_model(loaded, data, output, source)
    typer.echo(
        f"{loaded.name} on {result['n_genes']} genes: ROC AUC {result['roc_auc']:.4f}, PR AUC {result['pr_auc']:.4f}"
    )
    info(f"wrote {output}/metrics.json, predictions.tsv, roc_curve.png")


@app.command()
def benchmark(
    tracks: Tracks = None,
    gtf: Gtf = None,
    expression: ExpressionOpt = None,
    csv_dir: CsvDirOpt = None,
    remc_root: RemcOpt = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="Output folder.")] = Path("benchmark"),
    architecture: Annotated[
        list[str] | None, typer.Option(help="CNN recipe(s) to include (repeatable).")
    ] = None,
    seed: SeedOpt = 0,
    device: DeviceOpt = "auto",
    mark: MarkOpt = None,
    gene_type: GeneTypeOpt = "protein_coding",
    all_genes: AllGenesOpt = False,
    threads: ThreadsOpt = 1,
) -> None:
    """The paper's comparison: CNN vs SVM, random forest and logistic regression, test AUC per cell type."""
    import pandas as pd

    from chromepredict.files import atomic_dir
    from chromepredict.plots import benchmark_bars
    from chromepredict.training import get_recipe, resolve_device
    from chromepredict.workflows import benchmark_cell_type

    architectures = tuple(architecture or ("deepchrome", "deepchrome-2016"))
    for name in architectures:
        get_recipe(name)  # fail fast on an unknown name
    extraction = (mark, 5000, 100, "5to3", gene_type, all_genes, threads)
    sets = training_sets(tracks, gtf, expression, csv_dir, remc_root, extraction, seed, need_test=True)
    device = resolve_device(device)
    rows = []
    with progress_bar("cell types", len(sets)) as advance:
        for cell_type, (splits, source) in sets.items():
            info(f"{cell_type}: {source['split']}")
            for row in benchmark_cell_type(splits, seed, device, architectures):
                rows.append({"cell_type": cell_type, **row})
            advance(1)
    table = pd.DataFrame(rows)
    with atomic_dir(output) as tmp:
        table.to_csv(tmp / "benchmark.tsv", sep="\t", index=False, float_format="%.4f")
        benchmark_bars(table, tmp / "benchmark.png", "Test AUC: DeepChrome vs baselines")
    typer.echo(table.pivot(index="method", columns="cell_type", values="test_auc").round(4).to_string())
    info(f"wrote {output}/benchmark.tsv and benchmark.png")


DEFAULT_MODEL = "E003-E123"


@app.command()
def predict(
    tracks: Tracks = None,
    gtf: Gtf = None,
    model: Annotated[
        str,
        typer.Option(
            "--model", "-m", help="Pretrained name (chromepredict models), .onnx file or train folder."
        ),
    ] = DEFAULT_MODEL,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Output TSV (default: stdout).")
    ] = None,
    threshold: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="p_high at or above this is called high.")
    ] = 0.5,
    expression: Annotated[
        Path | None,
        typer.Option("--expression", help="Optional expression table: adds a label column and prints AUC."),
    ] = None,
    mark: MarkOpt = None,
    gene_type: GeneTypeOpt = "protein_coding",
    all_genes: AllGenesOpt = False,
    threads: ThreadsOpt = 1,
) -> None:
    """Score every gene high/low from bigWigs with a pretrained or trained ONNX model (CPU)."""
    from chromepredict.datasets import read_expression
    from chromepredict.evaluation import roc_auc
    from chromepredict.prediction import header_lines, predictions_table, write_predictions
    from chromepredict.zoo import open_model

    loaded = open_model(model, threads)
    values = read_expression(expression) if expression is not None else None
    spec = loaded.spec
    data = load_track_features(
        tracks, gtf, mark, spec.flank, spec.bin_size, spec.orientation, gene_type, all_genes, threads
    )
    if loaded.transform.per_sample and len(data.genes) < 100:
        info(
            f"[yellow]warning:[/] only {len(data.genes)} genes: the per-sample signal scaling is unreliable below ~100"
        )
    p_high = loaded.predict_proba(data, str(gtf))
    labels = None
    if values is not None:
        labels = values.labels_for(data.genes["gene_id"])
        known = labels.notna().to_numpy()
        auc = roc_auc(labels[known].astype(int), p_high[known])
        info(
            f"ROC AUC {auc:.4f} on the {known.sum()} genes with a value in {expression} ({(~known).sum()} without)"
        )
    table = predictions_table(data.genes, p_high, threshold, labels)
    write_predictions(table, output, header_lines(loaded, threshold))
    n_high = int((table["call"] == "high").sum())
    info(
        f"{len(table)} genes scored with model {loaded.name}: {n_high} high, {len(table) - n_high} low"
        + (f" → {output}" if output else "")
    )


@app.command()
def models() -> None:
    """List the pretrained models: name, cell type, marks, cross-validated AUC."""
    from chromepredict.zoo import available

    cards = available()
    if not cards:
        raise UserError("no pretrained models are installed; reinstall chromepredict")
    typer.echo("name\tcell_types\tmarks\tgenome\ttraining_genes\tcv_roc_auc\tdescription")
    for name, card in cards.items():
        cv = ", ".join(
            f"{k.removeprefix('cv_roc_auc_')} {v:.3f}"
            for k, v in card["metrics"].items()
            if k.startswith("cv_roc_auc_E")
        )
        typer.echo(
            f"{name}\t{','.join(card['cell_types'])}\t{','.join(card['inputs']['marks'])}\t{card['genome_build']}\t"
            f"{card['training_data']['genes']}\t{cv}\t{card['description']}"
        )


@app.command()
def demo(
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for the demo's outputs.")] = Path(
        "chromepredict-demo"
    ),
) -> None:
    """Predict on the bundled real example data (Roadmap E003, 369 genes) with the pretrained E003 model."""
    from chromepredict.datasets import example_data, read_expression
    from chromepredict.evaluation import roc_auc
    from chromepredict.prediction import header_lines, predictions_table, write_predictions
    from chromepredict.zoo import open_model

    example = example_data()
    model = open_model("E003")
    spec = model.spec
    data = load_track_features(
        example["tracks"],
        example["gtf"],
        None,
        spec.flank,
        spec.bin_size,
        spec.orientation,
        "protein_coding",
        False,
        1,
    )
    p_high = model.predict_proba(data, "example data")
    labels = read_expression(example["expression"]).labels_for(data.genes["gene_id"])
    table = predictions_table(data.genes, p_high, 0.5, labels)
    output.mkdir(parents=True, exist_ok=True)
    write_predictions(table, output / "predictions.tsv", header_lines(model, 0.5))
    shown = table.sort_values("p_high", ascending=False).iloc[[0, 1, 2, -3, -2, -1]]
    typer.echo(f"Roadmap E003 (H1 cells): {len(table)} genes scored with model {model.name}\n")
    typer.echo(
        shown[["gene_name", "chrom", "tss", "strand", "p_high", "call", "label"]].to_string(index=False)
    )
    agree = (table["call"] == table["label"]).mean()
    cv = model.card["metrics"]["cv_roc_auc_E003"]
    typer.echo(
        f"\nROC AUC {roc_auc(labels.to_numpy(int), p_high):.3f}, calls agreeing with RNA-seq {agree:.0%}: on the model's "
        f"own training genes, so not a test; its cross-validated AUC on held-out genes is {cv:.3f}."
    )
    typer.echo(f"Predictions for all {len(table)} genes: {output / 'predictions.tsv'}")


@app.command()
def explain(
    tracks: Tracks = None,
    model: Annotated[
        str, typer.Option("--model", "-m", help="Pretrained name, .onnx file or train output folder.")
    ] = DEFAULT_MODEL,
    output: Annotated[Path, typer.Option("--output", "-o", help="Output folder.")] = Path("explanations"),
    gtf: Gtf = None,
    csv: Annotated[
        Path | None, typer.Option("--csv", help="Genes from a DeepChrome CSV instead of tracks.")
    ] = None,
    genes: Annotated[
        str | None,
        typer.Option(
            "--genes", help="Per-gene attributions: comma-separated ids/names, or @FILE with one per line."
        ),
    ] = None,
    restarts: Annotated[
        int, typer.Option(min=1, help="Random restarts of the class optimisation (averaged).")
    ] = 5,
    seed: SeedOpt = 0,
    lam: Annotated[
        float, typer.Option("--lambda", min=0.0, help="L2 penalty λ of the class optimisation.")
    ] = 0.009,
    steps: Annotated[int, typer.Option(min=1, help="RMSprop steps of the class optimisation.")] = 1000,
    lr: Annotated[float, typer.Option(min=0.0, help="RMSprop learning rate.")] = 0.1,
    mark: MarkOpt = None,
    gene_type: GeneTypeOpt = "protein_coding",
    all_genes: AllGenesOpt = False,
    threads: ThreadsOpt = 1,
) -> None:
    """Class optimisation maps; with tracks or --csv also bin influence; with --genes per-gene attributions."""
    from chromepredict.datasets import read_deepchrome_csv
    from chromepredict.workflows import explain_model
    from chromepredict.zoo import open_model

    loaded = open_model(model)
    if tracks and csv is not None:
        raise UserError("give either bigWig tracks with --gtf, or --csv, not both")
    data = None
    if csv is not None:
        data = read_deepchrome_csv(csv)
    elif tracks:
        spec = loaded.spec
        data = load_track_features(
            tracks, gtf, mark, spec.flank, spec.bin_size, spec.orientation, gene_type, all_genes, threads
        )
    gene_list = None
    if genes:
        if data is None:
            raise UserError("--genes needs the genes' signal: give bigWig tracks with --gtf, or --csv")
        if genes.startswith("@"):
            path = Path(genes[1:])
            if not path.is_file():
                raise UserError(f"{path}: gene list not found; give a file with one gene id per line")
            gene_list = [line.strip() for line in path.read_text().splitlines() if line.strip()]
        else:
            gene_list = [g.strip() for g in genes.split(",") if g.strip()]
    info(f"class optimisation: {restarts} restarts × {steps} steps, λ = {lam}")
    summary = explain_model(loaded, output, data, gene_list, restarts, seed, lam, steps, lr)
    for name, entry in summary["classes"].items():
        typer.echo(
            f"{name}: marks above the mean active-bin count: {', '.join(entry['flagged_marks']) or 'none'} (P({name}) ≥ {entry['min_probability']:.3f})"
        )
    info(f"wrote {output}/")


def main() -> None:
    """Console-script entry point."""
    app()
