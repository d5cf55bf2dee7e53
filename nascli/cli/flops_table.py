"""`nas flops-table`: FLOPs and params of an architecture, or the per-op lookup that constrained search sums."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from nascli.cli.common import QuietOption, handle_errors, out, print_paths
from nascli.errors import NasInputError


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    app.command("flops-table")(flops_table_command)


def _named(value: str, space_name: str = "darts") -> Any:
    """The registry entry when `value` is a published genotype's name (not a file or a text form), else None."""
    text = value.strip()
    # the text forms first: a Genotype(...) text is longer than a file name may be, and is no file
    if text.startswith(("Genotype(", "|", "{", "[")) or text.lstrip("+-").isdigit() or text.endswith(".json"):
        return None
    try:
        if Path(text).is_file():
            return None
    except OSError:
        return None
    if space_name == "mobilenet":
        from nascli.spaces.mobilenet import get_named_mobilenet_arch

        try:
            return get_named_mobilenet_arch(text)
        except NasInputError:
            return None
    from nascli.spaces.genotypes import get_named_genotype

    try:
        return get_named_genotype(text)
    except NasInputError:
        return None


def _paper_figures(entry: Any, dataset: str, channels: int | None, layers: int | None) -> tuple[Any, Any]:
    """The paper's (FLOPs, params) in millions for this dataset and size, when the registry holds them."""
    if entry is None or layers is not None:
        return None, None
    key = dataset.lower()
    if channels is not None:
        key = f"{key}_c{channels}"
    return entry.paper_flops.get(key), entry.paper_params.get(key)


def _check_out(path: Path, overwrite: bool) -> None:
    if path.is_dir():
        raise NasInputError(f"--out {path} is a folder: give a file name such as flops.json")
    if path.exists() and not overwrite:
        raise NasInputError(f"{path} already exists: pass --overwrite to replace it, or choose another --out")


@handle_errors
def flops_table_command(
    genotype: str | None = typer.Option(None, "--genotype", "-g", help="Registered name (RLDARTS, DARTS_V2, …), "
                                        "genotype.json, Genotype(...) text, NB201 text or index. (default: none; "
                                        "needed unless --lookup)"),
    space: str | None = typer.Option(None, help="darts, mobilenet or nb201 (default: guessed from --genotype, "
                                     "else darts)."),
    dataset: str | None = typer.Option(None, help="Network for this dataset: cifar10, cifar100 or imagenet "
                                       "(DARTS: C=36 L=20 at 32 px / C=48 L=14 at 224 px; MobileNet: 224 px, "
                                       "1000 classes). (default: mobilenet imagenet, else cifar10)"),
    channels: int | None = typer.Option(None, help="Initial channels (default: the paper's for the dataset)."),
    layers: int | None = typer.Option(None, help="Cells (DARTS) or cells per stage (NB201) (default: the paper's)."),
    input_size: int | None = typer.Option(None, "--input-size",
                                          help="Image size, DARTS only (default: the dataset's)."),
    lookup: bool = typer.Option(False, "--lookup", help="Write the per-op, per-cell-position lookup (DARTS) or the "
                                "per-block lookup (MobileNet) that constrained search sums, to --out (default: off)."),
    convention: str | None = typer.Option(None, "--convention", help="FLOPs convention: macs (conv + linear "
                                          "multiply-adds) or rlnas-thop (RLNAS's thop: a Linear counts "
                                          "(2·in − 1)·out). (default: mobilenet rlnas-thop, darts macs)"),
    out_path: Path | None = typer.Option(None, "--out", "-o", help="JSON file to write: the lookup with "
                                         "--lookup, else the architecture's figures (default: print only)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing --out file (default: refuse)."),
    quiet: bool = QuietOption,
) -> None:
    """FLOPs (M multiply-adds of convs and linears) and params (M) of a stand-alone network, or the lookup table."""
    from nascli.artifacts import atomic_write_json, now, package_versions
    from nascli.spaces.base import get_space
    from nascli.spaces.flops import check_convention
    from nascli.spaces.flops_lookup import architecture_size, build_lookup, size_from_lookup, write_lookup
    from nascli.spaces.resolve import resolve_architecture

    for flag, value in (("--channels", channels), ("--layers", layers), ("--input-size", input_size)):
        if value is not None and value < 1:
            raise NasInputError(f"{flag} must be at least 1, not {value}")
    if lookup and out_path is None:
        raise NasInputError("--lookup writes a file: pass --out FILE, e.g. --out flops.json")
    if not lookup and genotype is None:
        raise NasInputError("nothing to count: pass --genotype NAME|FILE|TEXT, or --lookup --out FILE")
    if out_path is not None:
        _check_out(out_path, overwrite)

    resolved_space, arch = (resolve_architecture(genotype, space) if genotype is not None
                            else (get_space(space or "darts"), None))
    mobilenet = resolved_space.name == "mobilenet"
    dataset = dataset or ("imagenet" if mobilenet else "cifar10")
    convention = check_convention(convention or ("rlnas-thop" if mobilenet else "macs"))
    if convention != "macs" and resolved_space.name == "nb201":
        raise NasInputError("NB201 sizes are the benchmark's closed forms: drop --convention")
    entry = (_named(genotype, resolved_space.name) if genotype is not None and resolved_space.name != "nb201"
             else None)
    table = None
    if mobilenet:
        if layers is not None:
            raise NasInputError("the MobileNet space has 21 blocks: drop --layers")
        from nascli.spaces.mobilenet.lookup import cached_mobilenet_lookup, cost_from_mobilenet_lookup

        table = cached_mobilenet_lookup(resolved_space.network_size(dataset, channels, input_size),  # type: ignore[attr-defined]
                                        convention, dataset)
        size = None
        if arch is not None:
            size = {"flops": cost_from_mobilenet_lookup(table, arch, "flops") / 1e6,
                    "params": cost_from_mobilenet_lookup(table, arch, "params") / 1e6, "channels": table["channels"],
                    "layers": table["layers"], "input_size": table["input_size"]}
        if lookup:
            write_lookup(table, out_path)  # type: ignore[arg-type]
        else:
            table = None
    elif lookup:
        if resolved_space.name != "darts":
            raise NasInputError(f"the per-op lookup exists for the darts space, not {resolved_space.name}: "
                                "NB201 sizes are closed forms (omit --lookup)")
        table = build_lookup(resolved_space, dataset, channels, layers, input_size=input_size, convention=convention)
        # a genotype the table cannot price fails here, before anything is written
        size = size_from_lookup(table, arch) if arch is not None else None
        write_lookup(table, out_path)  # type: ignore[arg-type]
    elif convention != "macs":
        from nascli.spaces.flops_lookup import cached_lookup

        size = size_from_lookup(cached_lookup(resolved_space, dataset, channels, layers, input_size=input_size,
                                              convention=convention), resolved_space.coerce(arch))
    else:
        size = architecture_size(resolved_space, arch, dataset, channels, layers, input_size)
    paper_flops, paper_params = _paper_figures(entry, dataset, channels, layers)
    if out_path is not None and not lookup and size is not None:
        atomic_write_json(out_path, {
            "kind": "flops-table", "space": resolved_space.name, "dataset": dataset, "created": now(),
            "versions": package_versions(), "name": entry.name if entry is not None else None,
            "arch": resolved_space.format(arch), **size, "flops_convention": convention,
            "paper_flops": paper_flops, "paper_params": paper_params,
        })
    if quiet:
        return
    if table is not None and mobilenet:
        out.print(f"lookup for the MobileNet {dataset} network: stem width {table['channels']}, 21 blocks, "
                  f"{table['input_size']} px, FLOPs in {convention}; pre {table['pre']['flops'] / 1e6:.2f}M + post "
                  f"{table['post']['flops'] / 1e6:.2f}M FLOPs", highlight=False)
    elif table is not None:
        out.print(f"lookup for the DARTS {dataset} network: C={table['channels']}, {table['layers']} cells, "
                  f"{table['input_size']} px; fixed part {table['fixed']['flops'] / 1e6:.2f}M FLOPs, "
                  f"{table['fixed']['params'] / 1e6:.3f}M params", highlight=False)
    if size is not None:
        out.print(_size_table(resolved_space.format(arch), resolved_space.name, dataset, size, entry,
                              paper_flops, paper_params, convention))
    if out_path is not None:
        print_paths("written", {"lookup" if lookup else "figures": out_path})


def _size_table(text: str, space_name: str, dataset: str, size: dict[str, Any], entry: Any,
                paper_flops: float | None, paper_params: float | None, convention: str = "macs") -> Table:
    """One row: the architecture, its FLOPs and params, and the paper's figures for a registered genotype."""
    sizes = f"C={size['channels']}, L={size['layers']}" + (f", {size['input_size']} px" if size["input_size"] else "")
    result = Table(title=f"{space_name} network for {dataset} ({sizes})")
    result.add_column("architecture", overflow="fold")
    result.add_column(f"FLOPs (M, {convention})", justify="right")
    result.add_column("params (M)", justify="right")
    row = [entry.name if entry is not None else text, f"{size['flops']:.2f}", f"{size['params']:.3f}"]
    if entry is not None:
        result.add_column("paper FLOPs (M)", justify="right")
        result.add_column("paper params (M)", justify="right")
        row += [_fmt(paper_flops, ".0f"), _fmt(paper_params, ".1f")]
    result.add_row(*row)
    return result


def _fmt(value: float | None, spec: str) -> str:
    return "—" if value is None else format(value, spec)
