"""``bench collect --dry-run``: what a run would send and what that would cost, without a request.

It takes the same decisions as a run, through the same code: the journal's records are read by
:class:`~adapters.collection.journal.JournalRecords` (as :meth:`Journal.load` reads them), the
settings are checked by :func:`~adapters.collection.collector.check_settings` (the same refusal,
exit code 2) and the images are chosen by :func:`~adapters.collection.collector.plan`. What it
does not do: send a request, start an engine, or create, lock, repair or write anything in
``OUT`` (a missing ``OUT`` stays missing; a torn journal line stays for the real run to cut).

Missing credentials (or a local engine that is not installed) do not stop a dry run: the point
is to see the cost before configuring everything. They are reported as a warning line saying
that a real run would stop there (exit code 2), and the plan is printed anyway.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from adapters.collection.collector import (CHANGED, KEPT, NEW, NOT_RETRIED, REFRESHED, RETRIED, CollectOptions,
                                           Plan, check_settings, plan)
from adapters.collection.fingerprint import request_fingerprint, same_request
from adapters.collection.journal import read_records
from adapters.collection.outputs import OutputPaths
from adapters.collection.setup import check_options
from adapters.core.credentials import ProviderConfig, load_config
from adapters.core.errors import ConfigError, InputError
from adapters.core.images import discover
from adapters.core.pricing import Cost, Price, cost_per_1000
from adapters.providers import registry
from adapters.providers.prices import price_for, read_prices, recorded
from adapters.providers.registry import Settings

Report = Callable[[str], Any]

_SENT = {NEW: "new", CHANGED: "changed since it was collected", REFRESHED: "collected earlier (--refresh)",
         RETRIED: "failed earlier, retried"}


@dataclass
class DryRun:
    """What ``bench collect --dry-run`` found: the plan, the price and cost, and the warnings."""

    provider: str
    plan: Plan
    price: Price
    cost: Cost
    warnings: list[str] = field(default_factory=list)
    earlier: int = 0  # images the journal holds for these settings that are not under --images

    @property
    def sends(self) -> int:
        return len(self.plan.send)


def _config(name: str, warnings: list[str]) -> ProviderConfig:
    """The provider's configuration; each thing missing (the endpoint, the key) becomes a warning,
    and what can be found (the endpoint without the key) is kept for the settings check."""
    spec = registry.get(name)
    try:
        return registry.provider_config(name)
    except ConfigError as exc:
        problems = [str(exc)]
    config = ProviderConfig(name, url_variable=spec.url_variable, secret_variable=spec.secret_variable)
    for part in (replace(spec, secret_variable=None), replace(spec, url_variable=None, default_url=None)):
        try:
            found = load_config(part)  # the endpoint alone, then the key alone
        except ConfigError as exc:
            problems.append(str(exc))
        else:
            config = replace(config, url=found.url or config.url)
    problems = list(dict.fromkeys(problems[1:] or problems))
    warnings.extend(f"{problem}; a real run stops here (exit code 2)" for problem in problems)
    return config


def _check_out(out: Path, paths: OutputPaths) -> None:
    """What makes a real run stop before its first request because ``OUT`` cannot be written,
    found without writing: ``OUT`` or one of its files being something else."""
    existing = next((folder for folder in (out, *out.parents) if folder.exists()), None)
    if existing is not None and not existing.is_dir():
        which = "it exists" if existing == out else f"{existing} exists"
        raise InputError(f"cannot write to {out}: {which} and is not a folder")
    for path in (paths.raw, paths.normalized, paths.runs, paths.journal):
        if path.exists() and not path.is_file():
            raise InputError(f"cannot write {path}: it exists and is not a regular file")


def dry_run(name: str, images: Path, out: Path, options: CollectOptions, settings: Settings = Settings(),
            prices: Path | None = None, report: Report = print) -> DryRun:
    """Print (through ``report``) what ``bench collect`` with these arguments would send and cost."""
    spec = registry.get(name)
    check_options(name, settings)
    table = read_prices(prices)
    warnings: list[str] = []
    config = _config(name, warnings)
    if spec.engine is not None:
        missing = spec.engine.available(spec.settings(settings))
        if missing:
            warnings.append(f"{missing}; a real run stops here (exit code 2)")
    found = discover(images)
    paths = OutputPaths.for_provider(out, name)
    _check_out(Path(out), paths)
    records = read_records(paths.journal)
    request = request_fingerprint(spec, config, settings)
    held = records.held or {}
    if spec.url_variable and config.url is None and "endpoint" in held:
        request = {**request, "endpoint": held["endpoint"]}
        warnings.append(f"{spec.url_variable} is not set: the endpoint is taken to be the one {out} holds "
                        f"({held['endpoint']})")
    if records.torn:
        warnings.append(f"{paths.journal}: the last line was cut short (a run was killed while writing); "
                        f"a real run drops it and sends that image again")
    state = records.state(request, same_request)
    check_settings(state, request, options, paths, name)
    chosen = plan(found, state, options)
    price = price_for(name, table)
    answers = (entry.get("raw") for entry in state.successes.values())
    cost = cost_per_1000(price, recorded(name, answers), f"collected in {out}")
    present = {image.key for image in found}
    result = DryRun(name, chosen, price, cost, warnings,
                    earlier=len((set(state.successes) | set(state.failures)) - present))
    for line in dry_run_lines(result, images, out, options, prices):
        report(line)
    return result


def dry_run_folder(name: str, images: Path, out: Path, options: CollectOptions, settings: Settings = Settings(),
                   prices: Path | None = None, dry: bool = True, report: Report = print) -> None:
    """``bench collect --dry-run`` (``--prices`` only goes with it: a run's cost is ``bench report``'s)."""
    if not dry:
        raise InputError("--prices goes with --dry-run (the cost of what was collected is in bench report --prices)")
    dry_run(name, images, out, options, settings, prices, report)


def dry_run_lines(run: DryRun, images: Path, out: Path, options: CollectOptions,
                  prices: Path | None = None) -> list[str]:
    """The dry run's report: warnings, the images to send, what is not sent, the cost."""
    chosen = run.plan
    lines = [f"dry run: {run.provider} on {len(chosen.why)} images in {images} -> {out}: nothing is sent, "
             f"nothing in {out} is created or changed"]
    lines += [f"warning: {warning}" for warning in run.warnings]
    if chosen.send:
        lines.append(f"would send {run.sends} image(s), one request each (retries of transient errors "
                     f"come on top):")
        lines += [f"  {image.key}  {_SENT[chosen.why[image.key]]}" for image in chosen.send]
    else:
        lines.append("would send nothing")
    counts = [(chosen.count(reason), what) for reason, what in (
        (NEW, "new"), (CHANGED, "changed since collected"), (RETRIED, "failed earlier, retried"),
        (REFRESHED, "collected earlier, sent again (--refresh)"))]
    lines.append("to send: " + ", ".join(f"{n} {what}" for n, what in counts if n or what == "new"))
    kept = [(chosen.count(KEPT), "reused (collected, unchanged)"),
            (chosen.count(NOT_RETRIED), "failed earlier and not retried (--retry-failed sends them)"),
            (len(chosen.held_back), f"held back by --limit {options.limit}")]
    lines.append("not sent: " + (", ".join(f"{n} {what}" for n, what in kept if n) or "none"))
    if run.earlier:
        lines.append(f"the outputs would also hold {run.earlier} image(s) of earlier runs that are not in {images}")
    lines += cost_lines(run.price, run.cost, run.sends, prices)
    return lines


def cost_lines(price: Price, cost: Cost, images: int, prices: Path | None = None) -> list[str]:
    """The estimated cost of ``images`` requests, the price it comes from, and the free quota."""
    checked = f" (checked {price.checked})" if price.checked else ""
    if cost.known:
        lines = [f"estimated cost of {images} image(s): {cost.describe(images)}", f"  price: {price.describe()}"]
        if cost.basis != "per image":
            lines.append(f"  the cost is {cost.basis}")
    else:
        lines = [f"estimated cost of {images} image(s): unknown: {cost.basis}"]
        if price.known:
            lines.append(f"  price: {price.describe()}")
        lines.append("  collect a few images first (e.g. --limit 5), then run --dry-run again" if price.rates else
                     "  give your own price with --prices FILE (docs/commands.md)" if prices is None else
                     f"  add a price for {price.provider} to {prices}")
    lines.append(f"  source: {price.source or 'none'}{checked}")
    quota = price.free_quota.strip()
    lines.append(f"  free quota, as the price entry states it: {quota} (not deducted from the estimate)" if quota
                 else "  free quota: the price entry states none")
    return lines
