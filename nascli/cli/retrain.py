"""`nas retrain`: options → recipe → `nascli.train.retrain.retrain` → summary; `--list-genotypes` → table."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from nascli.cli.common import QuietOption, RecipeOption, SetOption, flags, handle_errors, out, print_paths
from nascli.config import RetrainConfig, resolve_config
from nascli.errors import NasInputError


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    app.command("retrain", no_args_is_help=False)(retrain_command)


def _million(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def print_genotype_table() -> None:
    """The registered DARTS genotypes, then the MobileNet-space architectures, with nascli's sizes beside the papers'
    figures."""
    from nascli.spaces.mobilenet.genotypes import registered_mobilenet_sizes
    from nascli.train.retrain import registered_genotype_sizes

    _print_name_table(
        "registered DARTS genotypes: nascli's counts in millions, the paper's beside them (— = none printed)",
        ("name", "CIFAR params M (C=36 L=20)", "ImageNet params M (C=48 L=14)", "ImageNet FLOPs M (224 px)",
         "source"),
        [(row.name,
          f"{row.cifar_params:.3f} (paper {_million(row.paper_cifar_params, 1)})",
          f"{row.imagenet_params:.3f} (paper {_million(row.paper_imagenet_params, 1)})",
          f"{row.imagenet_flops:.0f} (paper {_million(row.paper_imagenet_flops, 0)})",
          row.source)
         for row in registered_genotype_sizes()])
    if not out.is_terminal:
        typer.echo("")  # tables of other columns: a blank line between them
    _print_name_table(
        "registered MobileNet-space architectures (ImageNet, 224 px): nascli's counts in millions, the paper's "
        "beside them",
        ("name", "blocks (21 choices, -1 identity)", "params M", "FLOPs M rlnas-thop", "FLOPs M macs", "paper top-1 %",
         "source"),
        [(str(row["name"]), str(row["text"]),
          f"{row['params']:.3f} (paper {_million(row['paper_params'], 1)})",  # type: ignore[arg-type]
          f"{row['flops_thop']:.2f} (paper {_million(row['paper_flops'], 0)})",  # type: ignore[arg-type]
          f"{row['flops_macs']:.2f}", _million(row["paper_top1"], 1),  # type: ignore[arg-type]
          str(row["source"]))
         for row in registered_mobilenet_sizes()])


def _print_name_table(title: str, headers: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    """A table whose first column is a name users type back, so it stays whole: a rich table on a terminal (other
    columns fold), one tab-separated line per row when the output is a pipe or a file."""
    if not out.is_terminal:
        for cells in (headers, *rows):
            typer.echo("\t".join(cells))  # plain text: rich would expand the tabs
        return
    table = Table(title=title, title_justify="left")
    table.add_column(headers[0], no_wrap=True, min_width=max((len(cells[0]) for cells in rows), default=4))
    for header in headers[1:]:
        table.add_column(header, justify="left" if header == "source" else "right", overflow="fold")
    for cells in rows:
        table.add_row(*cells)
    out.print(table)


@handle_errors
def retrain_command(
    genotype: str | None = typer.Option(None, "--genotype", "-g", help="Architecture: a registered name "
                                        "(DARTS_V2, RLDARTS, …), a genotype.json from `nas search`, a canonical "
                                        "text (Genotype(...) or |op~0|+…) or an NB201 index (default: recipe)."),
    network: str | None = typer.Option(None, "--network", help="Instead of --genotype, a network that is not from "
                                       "a search space: resnet20 or resnet101-cifar (the RMI-NAS teachers). "
                                       "(default: none)"),
    out_dir: Path | None = typer.Option(None, "--out", "-o", help="Run folder to write (best.pt, last.pt, "
                                        "metrics.jsonl, manifest.json). Required, except with --list-genotypes. "
                                        "(default: none)"),
    recipe: Path | None = RecipeOption,
    overrides: list[str] = SetOption,
    space: str | None = typer.Option(None, help="Search space: nb201, darts or mobilenet (default: recipe, else the "
                                     "one the genotype names)."),
    dataset: str | None = typer.Option(None, help="cifar10, cifar100, imagenet16-120, imagefolder or synthetic "
                                       "(default: recipe, else synthetic)."),
    data_root: str | None = typer.Option(None, "--data-root", help="Folder holding the dataset in its official "
                                         "layout (cifar-10-batches-py/, train/ + val/ for image folders). "
                                         "(default: recipe; none for synthetic)"),
    epochs: int | None = typer.Option(None, help="Length of the LR and drop-path schedules in epochs "
                                      "(default: recipe, else 250)."),
    stop_after: int | None = typer.Option(None, "--stop-after", help="Train only the first N epochs of the "
                                          "schedule (the LR curve stays the full run's); --resume goes on "
                                          "(default: all)."),
    batch_size: int | None = typer.Option(None, help="Images per step on each process, or on all processes together "
                                          "when data.batch_scope is global. (default: recipe, else 64)"),
    lr: float | None = typer.Option(None, help="Initial learning rate (default: recipe, else 0.025)."),
    channels: int | None = typer.Option(None, help="Initial channels C (default: recipe, else DARTS 36 on CIFAR "
                                        "and 48 on ImageNet, NB201 16)."),
    layers: int | None = typer.Option(None, help="Cells L (DARTS) or cells per stage N (NB201) (default: recipe, "
                                      "else DARTS 20 on CIFAR and 14 on ImageNet, NB201 5)."),
    auxiliary_weight: float | None = typer.Option(None, "--auxiliary-weight", help="Weight of the auxiliary "
                                                  "head's loss; 0 removes the head, DARTS only (default: recipe, "
                                                  "else 0)."),
    drop_path: float | None = typer.Option(None, "--drop-path", help="Final drop-path probability, reached "
                                           "linearly over the epochs, DARTS only (default: recipe, else 0)."),
    seed: int | None = typer.Option(None, help="Seed of weights, data order and augmentation (default: recipe, "
                                    "else 0)."),
    device: str | None = typer.Option(None, help="auto, cpu or cuda (default: auto)."),
    amp: str | None = typer.Option(None, help="auto (bf16 on CUDA), bf16, fp16 or off (default: auto)."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out from its last checkpoint."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing run in --out."),
    quiet: bool = QuietOption,
    list_genotypes: bool = typer.Option(False, "--list-genotypes", help="List the registered DARTS genotypes and "
                                        "MobileNet-space architectures with their params and FLOPs, then exit."),
) -> None:
    """Train one architecture from scratch with a paper's protocol, testing it each epoch."""
    if list_genotypes:
        print_genotype_table()
        return
    if out_dir is None:
        raise NasInputError("--out is required: name the run folder to write, e.g. --out runs/retrain")
    from nascli.train.retrain import retrain

    auxiliary = None if auxiliary_weight is None else auxiliary_weight > 0
    cfg, meta = resolve_config(RetrainConfig, recipe, overrides, flags(
        genotype=genotype, network=network, space=space, data__dataset=dataset, data__root=data_root,
        optim__epochs=epochs,
        optim__stop_after_epochs=stop_after, data__batch_size=batch_size, optim__lr=lr, model__channels=channels,
        model__layers=layers, aux_weight=auxiliary_weight, model__options__auxiliary=auxiliary,
        drop_path_prob=drop_path, seed=seed, runtime__device=device, runtime__amp=amp,
        runtime__quiet=quiet or None,
    ), section="retrain")
    run = retrain(cfg, out_dir, resume=resume, overwrite=overwrite, meta=meta)
    if cfg.runtime.quiet:
        return
    table = Table(title=f"retrain {cfg.data.dataset}: {run.arch_text}", title_justify="left")
    for column in ("epochs", "params M", "FLOPs M", "best test %", "best epoch", "last test %", "images/s"):
        table.add_column(column, justify="right")
    last = run.result.records[-1] if run.result.records else {}
    table.add_row(
        f"{run.result.epochs_done}/{cfg.optim.epochs}", f"{run.params_m:.3f}", f"{run.flops_m:.1f}",
        _million(run.best_accuracy), "—" if run.best_epoch is None else str(run.best_epoch + 1),
        _million(run.final_accuracy), f"{last.get('images_per_s', float('nan')):.0f}",
    )
    out.print(table)
    print_paths("written", {"best weights": run.best_path, "checkpoint": run.last_path, "metrics": run.log_path,
                            "manifest": run.out / "manifest.json"})
