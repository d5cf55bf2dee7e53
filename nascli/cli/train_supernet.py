"""`nas train-supernet`: options → recipe → `nascli.train.supernet.train_supernet` → summary."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from nascli.cli.common import QuietOption, RecipeOption, SetOption, flags, handle_errors, out, print_paths
from nascli.config import TrainSupernetConfig, resolve_config


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    app.command("train-supernet", no_args_is_help=False)(train_supernet_command)


@handle_errors
def train_supernet_command(
    out_dir: Path = typer.Option(..., "--out", "-o", help="Run folder to write (init.pt, last.pt, log.jsonl, "
                                 "manifest.json)."),
    recipe: Path | None = RecipeOption,
    overrides: list[str] = SetOption,
    space: str | None = typer.Option(None, help="Search space: nb201, darts or mobilenet. (default: recipe or "
                                     "nb201)"),
    dataset: str | None = typer.Option(None, help="cifar10, cifar100, imagenet16-120, imagefolder or synthetic. "
                                       "(default: recipe or synthetic)"),
    data_root: str | None = typer.Option(None, "--data-root", help="Folder holding the dataset in its official "
                                         "layout (cifar-10-batches-py/, …). (default: recipe; none for synthetic)"),
    labels: str | None = typer.Option(None, help="true, or random (RLNAS: one fixed random label per image). "
                                "(default: recipe or true)"),
    label_seed: int | None = typer.Option(None, help="Seed of the random labels. (default: 0)"),
    train_split: str | None = typer.Option(None, help="Official index split FILE:PART applied to the training "
                                           "set, e.g. cifar10_search_split:train. (default: recipe, else the whole "
                                           "training set)"),
    epochs: int | None = typer.Option(None, help="Length of the LR schedule in epochs. (default: recipe or 250)"),
    stop_after: int | None = typer.Option(None, "--stop-after", help="Train only the first N epochs of the "
                                          "schedule (the LR curve stays the full run's); --resume goes on. "
                                          "(default: all epochs)"),
    batch_size: int | None = typer.Option(None, help="Images per step on each process, or on all processes "
                                          "together when data.batch_scope is global. (default: 64)"),
    lr: float | None = typer.Option(None, help="Initial learning rate. (default: 0.025)"),
    lr_min: float | None = typer.Option(None, help="Final learning rate of the schedule. (default: 0.001)"),
    weight_decay: float | None = typer.Option(None, help="SGD weight decay. (default: 5e-4)"),
    channels: int | None = typer.Option(None, help="Network width (first stage; MobileNet: the stem, 40, scaling "
                                        "every width). (default: space default)"),
    layers: int | None = typer.Option(None, help="Cells per stage (NB201) or cells (DARTS). (default: space default)"),
    seed: int | None = typer.Option(None, help="Seed of weights, data order and path sampling. (default: 0)"),
    device: str | None = typer.Option(None, help="auto, cpu or cuda. (default: auto)"),
    amp: str | None = typer.Option(None, help="auto (bf16 on CUDA), bf16, fp16 or off. (default: auto)"),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out from its last checkpoint."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace a finished run in --out."),
    quiet: bool = QuietOption,
) -> None:
    """Train a single-path supernet (RLNAS stage 1), with true or random labels."""
    from nascli.train.supernet import train_supernet

    cfg, meta = resolve_config(TrainSupernetConfig, recipe, overrides, flags(
        space=space, data__dataset=dataset, data__root=data_root, data__labels=labels,
        data__label_seed=label_seed, data__train_split=train_split, optim__epochs=epochs,
        optim__stop_after_epochs=stop_after, data__batch_size=batch_size, optim__lr=lr, optim__lr_min=lr_min,
        optim__weight_decay=weight_decay, model__channels=channels, model__layers=layers, seed=seed,
        runtime__device=device, runtime__amp=amp, runtime__quiet=quiet or None,
    ), section="train_supernet")
    run = train_supernet(cfg, out_dir, resume=resume, overwrite=overwrite, meta=meta)
    if cfg.runtime.quiet:
        return
    records = run.result.records
    if records:
        last = records[-1]
        table = Table(title=f"supernet {cfg.space} on {cfg.data.dataset} ({cfg.data.labels} labels)")
        for column in ("epochs", "loss", "train acc %", "lr", "images/s"):
            table.add_column(column, justify="right")
        table.add_row(f"{run.result.epochs_done}/{cfg.optim.epochs}", f"{last['loss']:.4f}",
                      f"{last['accuracy']:.2f}", f"{last['lr']:.5f}", f"{last['images_per_s']:.0f}")
        out.print(table)
    print_paths("written", {"init weights": run.init_path, "trained": run.last_path, "log": run.log_path,
                            "manifest": run.out / "manifest.json"})
