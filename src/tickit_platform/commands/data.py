"""`tickit data fetch` and `tickit data synth`: the seven tickit files, official or synthetic."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from tickit_platform.commands.helptext import described
from tickit_platform.commands.session import SubCommands, settings_from
from tickit_runtime import envvars


def add_parsers(sub: SubCommands) -> None:
    data = sub.add_parser(
        "data",
        help="get the seven tickit files",
        **described(
            "The seven tickit files (users, venue, category, date, event, listing, sales) that the DAG loads: "
            "the official download, or synthetic files in exactly the official formats. `tickit run` does "
            "this itself; these commands get the files without running anything.",
            ("tickit data fetch", "the official zip, verified and cached"),
            ("tickit data synth --scale 0.1", "synthetic files at 10% of the official row counts"),
        ),
    ).add_subparsers(dest="data", required=True, title="commands", metavar="COMMAND")
    fetch = data.add_parser(
        "fetch",
        help="download (and cache) the official tickitdb.zip, or --source",
        **described(
            f"Downloads AWS's official tickitdb.zip (with retries, a progress bar and resume), checks the seven "
            f"files and their row counts and caches them under ${envvars.HOME}/downloads; prints where they are. "
            f"With --source it takes a local zip, a folder of the seven files or another URL instead; "
            f"${envvars.DATA_URL} names a mirror.",
            ("tickit data fetch", "the official zip"),
            ("tickit data fetch --source ./tickit-files/", "a folder of the seven files, checked the same way"),
        ),
    )
    fetch.add_argument("--source", help="a local zip, a folder of the seven files, or a URL of a zip")
    fetch.set_defaults(func=cmd_data_fetch)
    synth = data.add_parser(
        "synth",
        help="write synthetic files in exactly the official formats",
        **described(
            "Writes the seven files synthetically: the official formats byte for byte (delimiters, time "
            "formats), the official row counts at scale 1, coherent relations and skewed sales. The same seed "
            "gives the same files. Prints the folder written.",
            ("tickit data synth --scale 1", "the official row counts"),
            ("tickit data synth --scale 0.01 --seed 7 --out /tmp/tickit", "a tiny set in a folder of your choice"),
        ),
    )
    synth.add_argument("--scale", type=float, help="1 = the official row counts (default 1)")
    synth.add_argument("--seed", type=int, help="random seed (default 42)")
    synth.add_argument("--out", help=f"folder to write (default under {envvars.HOME})")
    synth.set_defaults(func=cmd_data_synth)


def cmd_data_fetch(args: argparse.Namespace) -> int:
    from tickit_platform.data.acquire import Dataset, acquire
    from tickit_platform.data.fetch import fetch
    from tickit_platform.data.provenance import describe, read_provenance

    settings = settings_from(args)
    if settings.source is not None:
        dataset = acquire(settings)
    else:
        folder = fetch(settings.downloads_dir / "official", official_url=settings.data_url)
        dataset = Dataset(folder, describe(read_provenance(folder)))
    print(f"{dataset.description}: {dataset.folder}")
    return 0


def cmd_data_synth(args: argparse.Namespace) -> int:
    from tickit_platform.data.provenance import describe, read_provenance
    from tickit_platform.data.synth import generate

    settings = settings_from(args)
    out_dir = Path(args.out) if args.out else settings.synthetic_dir
    started = time.monotonic()
    folder = generate(out_dir, scale=settings.scale, seed=settings.seed)
    print(f"{describe(read_provenance(folder))}: {folder} ({time.monotonic() - started:.1f} s)")
    return 0
