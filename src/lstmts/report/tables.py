"""Tables on the console: the one a run prints when it ends, and comparisons of many runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from lstmts.data.series import missing_note, reversed_note
from lstmts.errors import overrides_text
from lstmts.evaluation.scoring import choose_best_baseline
from lstmts.report.hints import what_to_try
from lstmts.report.ranking import baseline_label


def _fmt(value) -> str:
    return "-" if value is None else f"{value:.2f}"


def print_warnings(metrics: dict, console: Console) -> None:
    """Print the run's warnings (metrics["warnings"]), one line each."""
    for line in metrics.get("warnings") or []:
        console.print(f"warning: {line}", highlight=False, soft_wrap=True)


def print_found(metrics: dict, console: Console) -> None:
    """Print the columns the run found in its file (metrics["found_in_file"]), when it found any."""
    found = metrics.get("found_in_file") or {}
    if found:
        console.print(f"columns found in the file: {overrides_text(found)} (set them on the command line to choose others)",
                      highlight=False, soft_wrap=True)


P_LEGEND = ("p vs LSTM: the Diebold-Mariano test of the baseline's forecasts against the LSTM's at that horizon,"
            " on the same origins (below 0.05: a difference that is not chance at 5 %)")


def _add_p_row(table: Table, scores: dict, horizons: list[str]) -> None:
    """Add the row under a baseline's RMSEs by horizon: its p against the LSTM at each (none without them)."""
    tested = scores.get("p_by_horizon") or {}
    if tested:
        table.add_row("  p vs LSTM", *[p_value(tested[h]) if h in tested else "" for h in horizons], style="dim")


def print_backtest(metrics: dict, out_dir: Path, console: Console) -> None:
    """Print a backtest's RMSE by horizon for the LSTM and each baseline, over the same origins."""
    backtest = metrics["backtest"]
    horizons = list(metrics.get("test_rmse_by_horizon") or {})
    shown = [h for h in horizons if h in ("1", "3", "6", "12", "24", horizons[-1])]
    table = Table(title=f"backtest: {backtest['origins']} origins {backtest['first_origin']} .. {backtest['last_origin']},"
                        f" {backtest['refits']} refits ({backtest['window']} window)", header_style="bold")
    table.add_column("forecaster")
    for horizon in shown:
        table.add_column(f"RMSE h={horizon}", justify="right")
    table.add_row(_lstm_label(metrics, "LSTM"), *[_fmt(metrics["test_rmse_by_horizon"].get(h)) for h in shown])
    for name, scores in metrics.get("baselines", {}).items():
        if "note" in scores:
            table.add_row(baseline_label(name), scores["note"], *[""] * (len(shown) - 1))
        else:
            table.add_row(baseline_label(name), *[_fmt(scores["test_rmse_by_horizon"].get(h)) for h in shown])
            _add_p_row(table, scores, shown)
    counts = backtest.get("origins_by_horizon") or {}
    if counts and any(counts.get(h) != backtest["origins"] for h in shown):
        table.add_row("origins scored", *[str(counts.get(h, "-")) for h in shown], style="dim")
    console.print(table)
    if any(scores.get("p_by_horizon") for scores in metrics.get("baselines", {}).values()):
        console.print(P_LEGEND, highlight=False, soft_wrap=True)
    _print_covariates(metrics, console)
    note = fewer_origins_note(counts, backtest["origins"])
    if note:
        console.print(note, highlight=False, soft_wrap=True)
    print_warnings(metrics, console)
    print_found(metrics, console)
    console.print(f"LSTM refits: {backtest['lstm_seconds']:.1f} s ({backtest['seconds_per_refit']:.2f} s each);"
                  f" baselines: {backtest['baseline_seconds']:.1f} s", highlight=False)
    _print_missing(metrics, console)
    console.print(f"run folder: {out_dir}", soft_wrap=True, highlight=False)


def fewer_origins_note(counts: dict[str, int], origins: int) -> str | None:
    """Return the line that says which horizons rest on fewer origins than the backtest has, or None when none do.

    An origin near the end of the series has no target h steps on: horizons 2-12 of a backtest
    whose last origin is the last value rest on one origin fewer.
    """
    fewer: dict[int, list[int]] = {}
    for horizon, count in counts.items():
        if count < origins:
            fewer.setdefault(count, []).append(int(horizon))
    if not fewer:
        return None
    parts = [f"horizon{'s' if len(hs) > 1 else ''} {_span(hs)} rest{'' if len(hs) > 1 else 's'} on {count} of the"
             f" {origins} origins" for count, hs in sorted(fewer.items(), reverse=True)]
    return (f"{'; '.join(parts)}: the last origins are too near the end of the series to be scored that far ahead"
            f" (metrics.json: backtest.origins_by_horizon)")


def _span(horizons: list[int]) -> str:
    return f"{horizons[0]}-{horizons[-1]}" if len(horizons) > 1 and horizons[-1] - horizons[0] == len(horizons) - 1 \
        else ", ".join(map(str, horizons))


def covariates_note(metrics: dict) -> str | None:
    """Return the line that says the LSTM took in covariates and the baselines did not, or None without covariates."""
    about = metrics.get("covariates")
    if not isinstance(about, dict):
        return None
    names = [*about.get("past", []), *about.get("future", [])]
    calendar = about.get("calendar") or []
    parts = ([", ".join(map(str, names))] if names else []) + ([f"calendar features ({', '.join(map(str, calendar))})"]
                                                               if calendar else [])
    if not parts:
        return None
    return f"the LSTM took in covariates ({' and '.join(parts)}); the baselines forecast from the series alone"


def _print_covariates(metrics: dict, console: Console) -> None:
    note = covariates_note(metrics)
    if note:
        console.print(note, highlight=False, soft_wrap=True)


def _print_missing(metrics: dict, console: Console) -> None:
    data = metrics.get("data") or {}
    if data.get("filled") or data.get("trimmed"):
        console.print(missing_note(data.get("filled", 0), data.get("trimmed", 0)), soft_wrap=True, highlight=False)
    if data.get("newest_first"):
        console.print(reversed_note(), soft_wrap=True, highlight=False)


def _lstm_label(metrics: dict, label: str) -> str:
    return f"{label} + covariates" if covariates_note(metrics) else label


def print_collection(metrics: dict, out_dir: Path, console: Console) -> None:
    """Print a collection run: mean sMAPE, MASE and RMSE of the LSTM and every baseline, and how often it wins."""
    about = metrics["collection"]
    split = about["split"]
    table = Table(title=None, show_header=True, header_style="bold")
    for column in ("forecaster", f"{split} sMAPE", f"{split} MASE", f"{split} RMSE", "LSTM better on"):
        table.add_column(column, justify="left" if column == "forecaster" else "right")
    table.add_row(f"LSTM ({about['scope']})", _fmt(metrics.get(f"{split}_smape")), _fmt(metrics.get(f"{split}_mase")),
                  _fmt(metrics.get(f"{split}_rmse")), "")
    ranked = sorted((metrics.get("baselines") or {}).items(), key=lambda item: item[1].get(f"{split}_smape", float("inf")))
    for name, scores in ranked:
        if scores.get("note"):  # over its time budget (collection.baseline_time_limit)
            table.add_row(baseline_label(name), scores["note"], "", "", "")
            continue
        share = scores.get("share_beaten_by_lstm")
        table.add_row(baseline_label(name), _fmt(scores.get(f"{split}_smape")), _fmt(scores.get(f"{split}_mase")),
                      _fmt(scores.get(f"{split}_rmse")), "" if share is None else f"{100 * share:.0f} % of series")
    console.print(table)
    if metrics.get("intervals"):
        console.print(_collection_intervals(metrics["intervals"], split, about["scope"]))
    if metrics.get("cross_validation"):
        for line in _cross_validation_lines(metrics):
            console.print(line, highlight=False, soft_wrap=True)
    shard = f", shard {about['shard']} of {about['shards']}" if about["shards"] > 1 else ""
    console.print(f"{about['name']}: {about['scored']} series scored on {split}, {about['skipped']} skipped"
                  f" (of {about['series_total']}{shard}); {metrics.get('updates')} updates in"
                  f" {metrics.get('train_seconds', 0):.2f} s, baselines {about['baseline_seconds']:.2f} s", highlight=False)
    forecast_how = [f"{metrics['padded']} from an input padded to the look_back" if metrics.get("padded") else "",
                    f"{metrics['fallbacks']} by the seasonal naive fallback" if metrics.get("fallbacks") else ""]
    if any(forecast_how):
        console.print("LSTM forecasts: " + "; ".join(h for h in forecast_how if h) + " (series.csv: lstm_input)",
                      highlight=False)
    if metrics.get("ensemble"):
        members = metrics["ensemble"]["members"]
        console.print(f"ensemble: the median of {len(members)} networks ({metrics['ensemble']['train_seconds']:.1f} s"
                      f" of training)", highlight=False)
    console.print(f"run folder: {out_dir}", soft_wrap=True, highlight=False)


def _collection_intervals(scored: dict, split: str, scope: str) -> Table:
    """The intervals' coverage of the split's values and their MSIS, per level, for the LSTM and ETS and ARIMA."""
    levels = scored["levels"]
    table = Table(title=None, show_header=True, header_style="bold")
    table.add_column("intervals", justify="left")
    for level in levels:
        table.add_column(f"{split} coverage {level} %", justify="right")
    for level in levels:
        table.add_column(f"MSIS {level} %", justify="right")
    names = [("lstm", f"LSTM ({scope}), conformal")]
    names += [("lstm_quantile", f"LSTM ({scope}), quantile outputs")] if "lstm_quantile" in scored else []
    names += [(m, baseline_label(m)) for m in ("ets", "arima") if m in scored]
    for name, label in names:
        row = scored[name]
        coverage = [_fmt(100 * row[f"coverage_{level}"]) if row.get(f"coverage_{level}") is not None else ""
                    for level in levels]
        table.add_row(label, *coverage, *(_fmt(row.get(f"msis_{level}")) for level in levels))
    return table


def _cross_validation_lines(metrics: dict) -> list[str]:
    """Return the run table's lines about a cross-validation: sMAPE per origin, then per horizon step."""
    cv = metrics["cross_validation"]
    methods = ["lstm"] + [m for m in cv["by_horizon"] if m != "lstm"]
    label = {m: "LSTM" if m == "lstm" else baseline_label(m) for m in methods}
    lines = [f"cross-validation: {cv['origins']} origins, {cv['step']} apart, the LSTM trained {cv['trainings']} times"]
    lines.append("sMAPE per origin (earliest first): " + "; ".join(
        f"{o['origin']}: LSTM {o['lstm']:.2f}, comb {o['comb']:.2f}" if "comb" in o else f"{o['origin']}: LSTM {o['lstm']:.2f}"
        for o in cv["by_origin"]))
    for method in methods:
        lines.append(f"sMAPE per step, {label[method]}: " + " ".join(f"{v:.1f}" for v in cv["by_horizon"][method]))
    return lines


def _combination(auto: dict) -> dict | None:
    """Return how an automatic run combined its networks and baselines (metrics.json auto.combination; a run
    from before that key recorded it with its second half, auto.residuals)."""
    return auto.get("combination", auto.get("residuals"))


def _auto_label(auto: dict) -> str:
    """Return the run table's name for an automatic LSTM's forecast."""
    second, combined = auto.get("residuals"), _combination(auto)
    how = combined.get("combine") if combined else "none"
    if how is None or (how == "none" and second):  # a run from before auto.combine, or the halves alone
        return "automatic LSTM (mean of 2 halves)"
    if how == "none":
        return f"automatic LSTM (median of {len(auto['ensemble'])})"
    leaders, name = combined.get("leaders") or [], baseline_label(combined["baseline"])
    networks = "the halves" if second else "the networks"
    if how == "fitted":
        voices = {"baseline": name, "networks": "networks", "second_half": "second half", "leaders": "leaders"}
        weights = ", ".join(f"{voices[voice]} {weight:.2f}" for voice, weight in combined["weights"].items())
        return f"automatic LSTM ({weights}: weights fitted on {combined.get('fitted_on')} validation targets)"
    if how == "shrink":
        towards = f"{networks} and leaders" if leaders else networks
        return f"automatic LSTM ({name} moved {combined['shrink']:g} towards {towards})"
    voices = f", {name} and the leaders' mean" if leaders else f" and {name}"
    return f"automatic LSTM ({how} of {networks}{voices})"


def p_value(p: float) -> str:
    """Return a p-value in as few digits as say it: 0.64, 0.031, 0.004, < 0.001."""
    if p < 0.001:
        return "< 0.001"
    return f"{p:.2f}" if p >= 0.01 else f"{p:.3f}"


def significance(test: dict | None) -> str:
    """Return what the Diebold-Mariano test (metrics' best_baseline.diebold_mariano) says of the LSTM's
    difference from the best baseline, as a clause of the verdict ("" without a test)."""
    if not test:
        return ""
    word = "significant" if test["p_value"] < 0.05 else "not significant"
    return f"; {word} at 5 %: Diebold-Mariano p {p_value(test['p_value'])} on {test['targets']} targets"


def print_horizons(metrics: dict, label: str, console: Console) -> None:
    """Print the test RMSE at each of the run's horizons beyond one step, of the LSTM (`label`) and of every
    baseline that forecast them, all from the same test origins; nothing for a run of one step only."""
    horizons = list(metrics.get("test_rmse_by_horizon") or {})
    if not any(h != "1" for h in horizons):
        return
    table = Table(title="test RMSE by steps ahead (from every test origin)", header_style="bold")
    table.add_column("forecaster")
    for horizon in horizons:
        table.add_column(f"h={horizon}", justify="right")
    table.add_row(label, *[_fmt(metrics["test_rmse_by_horizon"].get(h)) for h in horizons])
    for name, scores in metrics.get("baselines", {}).items():
        by_horizon = scores.get("test_rmse_by_horizon")
        if by_horizon:
            table.add_row(baseline_label(name), *[_fmt(by_horizon.get(h)) for h in horizons])
            _add_p_row(table, scores, horizons)
    console.print(table)
    if any(scores.get("p_by_horizon") for scores in metrics.get("baselines", {}).values()):
        console.print(P_LEGEND, highlight=False, soft_wrap=True)


def print_summary(metrics: dict, out_dir: Path, console: Console | None = None) -> None:
    """Print train/test RMSE, the baselines on the same targets and the run folder."""
    console = console or Console(markup=False)
    if "backtest" in metrics:
        print_backtest(metrics, out_dir, console)
        return
    if metrics.get("kind") == "collection":
        print_collection(metrics, out_dir, console)
        return
    table = Table(title=None, show_header=True, header_style="bold")
    table.add_column("forecaster")
    table.add_column("train RMSE", justify="right")
    validation = metrics.get("validation_rmse") is not None
    if validation:
        table.add_column("validation RMSE", justify="right")
    table.add_column("test RMSE", justify="right")
    table.add_column("test MAE", justify="right")
    table.add_column("test MASE", justify="right")
    label = "LSTM"
    auto = metrics.get("auto") if metrics.get("kind") == "auto" else None
    if auto:
        label = _auto_label(auto)
    repeats = metrics.get("repeats")
    if repeats:
        label = f"LSTM ensemble of {len(repeats['seeds'])}"
        each = [f"{repeats[f'{split}_rmse_mean']:.2f} ± {repeats[f'{split}_rmse_std']:.2f}"
                for split in ("train", "validation", "test") if split != "validation" or validation]
        table.add_row(f"LSTM, each of {len(repeats['seeds'])} seeds", *each, "", "")
    middle = [_fmt(metrics.get("validation_rmse"))] if validation else []
    own = _lstm_label(metrics, label)
    table.add_row(own, _fmt(metrics.get("train_rmse")), *middle, _fmt(metrics.get("test_rmse")), _fmt(metrics.get("test_mae")),
                  _fmt(metrics.get("test_mase")))
    for name, scores in metrics.get("baselines", {}).items():
        label = baseline_label(name)
        middle = [_fmt(scores.get("validation_rmse"))] if validation else []
        if "note" in scores:
            table.add_row(label, "", *middle, scores["note"], "", "")
        else:
            table.add_row(label, "", *middle, _fmt(scores.get("test_rmse")), _fmt(scores.get("test_mae")),
                          _fmt(scores.get("test_mase")))
    console.print(table)
    print_horizons(metrics, _lstm_label(metrics, "automatic LSTM") if auto else own, console)
    _print_covariates(metrics, console)
    print_warnings(metrics, console)
    best = choose_best_baseline(metrics)
    if best:
        ratio = best["ratio"]
        verdict = ""
        if ratio is not None:
            test = (metrics.get("best_baseline") or {}).get("diebold_mariano")
            beats = "beats it" if ratio < 1 else "does not beat it"
            verdict = f"; LSTM ÷ it: {ratio:.3f} ({beats}{significance(test)})"
        console.print(f"best baseline (chosen on {best['chosen_on']}): {baseline_label(best['name'])},"
                      f" {best['compared_on']} RMSE {_fmt(best['score'])}{verdict}", highlight=False)
    hint = what_to_try(metrics)
    if hint:
        console.print(f"what to try: {hint}", highlight=False, soft_wrap=True)
    if metrics.get("frequency"):
        console.print(f"data: {metrics['frequency']}, season {metrics.get('season_length')};"
                      f" protocol {metrics.get('protocol')}", highlight=False)
    season = metrics.get("season_hint")
    if season:
        console.print(f"season: the series has no dates, so season 1; its training values' changes repeat every"
                      f" {season['lag']} steps (autocorrelation {season['autocorrelation']:.2f}): if that is its"
                      f" season, give season_length={season['lag']}", highlight=False, soft_wrap=True)
    print_found(metrics, console)
    samples = metrics.get("samples", {})
    scored = metrics.get("scored", {}).get("test", {})
    console.print(
        f"test: {samples.get('test')} targets, {scored.get('first')} .. {scored.get('last')};"
        f" {metrics.get('updates')} updates in {metrics.get('train_seconds', 0):.2f} s"
    )
    _print_missing(metrics, console)
    if auto:
        second = auto.get("residuals")
        first = "first half (networks on the series)" if second else "networks on the series"
        budget = auto.get("budget_seconds")
        limit = (f" of a {budget:g} s budget{' (reached)' if auto.get('budget_reached') else ''}"
                 if isinstance(budget, (int, float)) else "")
        cycle = (f"; the transforms included a difference at the cycle above the season ({auto['second_season']}"
                 f" values)" if auto.get("second_season") else "")
        console.print(f"{first}: {auto['candidates']} candidates scored on validation (horizons"
                      f" {', '.join(map(str, auto['horizons']))}) in {auto['search_seconds']:.1f} s{limit}{cycle};"
                      f" the median of {'; '.join(auto['ensemble'])} (candidates.csv)", soft_wrap=True,
                      highlight=False)
        if second:
            halves = second.get("validation_rmse_halves") or []
            scores = (f"; validation RMSE {_fmt(halves[0])} on the series, {_fmt(halves[1])} on the residuals,"
                      f" {_fmt(metrics.get('validation_rmse'))} combined" if len(halves) == 2 else "")
            console.print(f"second half: {baseline_label(second['baseline'])} (best on validation) plus networks on"
                          f" what it leaves: {second['candidates']} candidates in {second['search_seconds']:.1f} s;"
                          f" the median of {'; '.join(second['ensemble'])}{scores}", soft_wrap=True, highlight=False)
        combined = _combination(auto)
        if combined and combined.get("leaders"):
            console.print(f"the leaders (auto.leaders): {', '.join(map(baseline_label, combined['leaders']))},"
                          f" the {len(combined['leaders'])} baselines best on validation; their mean is a voice"
                          f" of the combination (auto.combine={combined.get('combine')})",
                          soft_wrap=True, highlight=False)
        if auto.get("test_refits"):
            console.print(f"each member trained again {auto['test_refits']} time(s) through the test period, on the"
                          f" values before each refit (auto.refit_every)", soft_wrap=True, highlight=False)
        for note in auto.get("left_out") or []:
            console.print(f"left out of the ensemble (it cannot forecast the test period): {note}",
                          soft_wrap=True, highlight=False)
        console.print(f"the best alone: {auto['rerun_best']}", soft_wrap=True, highlight=False)
    console.print(f"run folder: {out_dir}", soft_wrap=True, highlight=False)


HEADERS = {
    "train_rmse": "train RMSE",
    "validation_rmse": "valid. RMSE",
    "test_rmse": "test RMSE",
    "test_mase": "test MASE",
    "ratio_to_persistence": "÷ persistence",
    "best_baseline": "best baseline",
    "best_baseline_chosen_on": "chosen on",
    "best_baseline_rmse": "best baseline RMSE",
    "best_baseline_smape": "best baseline sMAPE",
    "validation_smape": "valid. sMAPE",
    "test_smape": "test sMAPE",
    "validation_mase": "valid. MASE",
    "series": "series",
    "ratio_to_best_baseline": "÷ best baseline",
    "p_vs_best_baseline": "p (DM)",
    "p_vs_first": "p vs first (DM)",
    "train_seconds": "train s",
    "test_rmse_of_each_model": "each model",
    "runs": "runs",
}
# Never in a table: the CSV keeps them.
_CSV_ONLY = ("error", "run_folders")


def wide_console(stderr: bool = False):
    """Return a rich Console on stdout (or stderr)."""
    from rich.console import Console

    return Console(stderr=stderr, markup=False)  # file names and overrides hold brackets: never markup


def header(column: str, config_keys=()) -> str:
    """Return a column's header: "test RMSE" for test_rmse, "look_back" for framing.look_back."""
    if column in HEADERS:
        return HEADERS[column]
    for split in ("validation", "test"):
        if column.endswith(f"_{split}_rmse"):
            return f"{baseline_label(column.removesuffix(f'_{split}_rmse'))} {'valid.' if split == 'validation' else 'test'}"
    last = column.split(".")[-1]
    # A config key by its last part, unless another shown key ends the same way.
    return last if sum(1 for k in config_keys if k.split(".")[-1] == last) <= 1 else column


def _format(value, std=None) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "-"
    if isinstance(value, (float, np.floating)):
        text = f"{value:.2f}" if abs(value) >= 0.1 else f"{value:.3f}"
        if std is not None and not np.isnan(std) and std >= 0.005:
            text += f" ± {std:.2f}"
        return text
    return str(value)


def _cell(column: str, row) -> str:
    """Return one table cell: a p-value as p_value writes it, anything else as _format does."""
    value = row[column]
    if column.startswith("p_vs_") and isinstance(value, (float, np.floating)) and not np.isnan(value):
        return p_value(float(value))
    return _format(value, row.get(f"{column}_std"))


def run_labels(runs) -> list[str]:
    """Return a short, unique label per run folder: a sweep job's number, else the folder's name.

    Parent folders are added, one at a time, while two labels are the same.
    """
    import re

    paths = [Path(str(run)) for run in runs]
    labels = [m.group(1) if (m := re.match(r"(\d+)_", p.name)) else p.name for p in paths]
    depth = 1
    while len(set(labels)) < len(labels) and depth < 6:
        labels = [str(Path(*p.parts[-depth - 1:-1], label)) for p, label in zip(paths, labels)]
        depth += 1
    return labels


def _header_lines(text: str, widest_cell: int) -> str:
    """Break a header longer than its widest cell at the space nearest its middle."""
    if len(text) <= widest_cell or " " not in text:
        return text
    spaces = [i for i, c in enumerate(text) if c == " "]
    cut = min(spaces, key=lambda i: abs(i - len(text) / 2))
    return text[:cut] + "\n" + text[cut + 1:]


def _table(cells: dict[str, list[str]], headers: dict[str, str], columns: list[str], title: str | None,
           caption: str | None = None) -> Table:
    table = Table(title=title, caption=caption, header_style="bold", title_justify="left",
                  caption_justify="left")
    for column in columns:
        numeric = all(c[:1].isdigit() or c[:1] == "-" or c.startswith("< ") for c in cells[column])
        left = column in ("run", "status", "best_baseline", "best_baseline_chosen_on") or not numeric
        widest = max((len(c) for c in cells[column]), default=0)
        table.add_column(_header_lines(headers[column], widest), justify="left" if left else "right",
                         no_wrap=True, overflow="fold")
    for row in zip(*(cells[column] for column in columns)):
        table.add_row(*row)
    return table


def _width(console: Console, table: Table) -> int:
    return console.measure(table, options=console.options.update_width(1 << 16)).maximum


def print_table(frame: pd.DataFrame, title: str, console=None, *, priority: list[str] | None = None,
                chosen: list[str] | None = None, config_keys=(), csv_path: Path | None = None) -> list[str]:
    """Print the comparison as a rich table (std folded into its mean) and return the columns shown.

    On a terminal the columns that fit its width are shown, in the order of `priority`; the others
    stay in the CSV, and the caption says so. In a pipe or file every column is printed whole.
    `chosen` (from --columns) overrides both. Numbers are never cut; errors go below the table.
    """
    console = console or wide_console()
    available = [c for c in (priority or list(frame.columns)) if c in frame and not c.endswith("_std")
                 and c not in _CSV_ONLY]
    available += [c for c in chosen or [] if c in frame and c not in available]
    rows = list(frame.astype(object).iterrows())  # objects: iterrows() would turn ints into floats
    cells = {c: [_cell(c, row) for _, row in rows] for c in available if c != "run"}
    if "run" in available:
        cells["run"] = run_labels(frame["run"])
    headers = {c: ("run" if c == "run" else header(c, config_keys)) for c in available}
    if chosen is not None:
        shown = ([c for c in ("run", "runs") if c in available and c not in chosen]) + list(chosen)
    elif console.is_terminal:
        shown = []
        for column in available:
            if _width(console, _table(cells, headers, shown + [column], title)) <= console.width:
                shown.append(column)
    else:
        shown = available
    left_out = len([c for c in available if c not in shown])
    caption = None
    if left_out:
        where = csv_path.name if csv_path is not None else "the CSV"
        caption = f"{left_out} more column(s) in {where}; choose with --columns"
    table = _table(cells, headers, shown, title, caption)
    width = _width(console, table)
    if width > console.width:
        # Wider than the terminal (or a pipe): print it whole, never cut, in a console as wide as the table.
        console = Console(file=console.file, width=width, no_color=console.no_color, markup=False,
                          color_system=console.color_system, force_terminal=console.is_terminal)
    console.print(table)
    if "error" in frame:
        for _, row in frame[frame["error"].notna()].iterrows():
            console.print(f"{Path(str(row['run'])).name}: {row['status']}: {row['error']}", highlight=False, soft_wrap=True)
    return shown


def check_columns(chosen: list[str], frame: pd.DataFrame) -> None:
    """Raise UserError for a --columns name that is not a column of the comparison."""
    from lstmts.errors import UserError

    known = [c for c in frame.columns if not c.endswith("_std") and c not in _CSV_ONLY]
    for name in chosen:
        if name not in known:
            raise UserError(f"--columns {name!r} is not a column of this comparison; choose from {', '.join(known)}")


def job_line(number, overrides: str, metrics: dict) -> str:
    """Return the one line a sweep prints for a finished job: number, overrides, status, ranking metric."""
    from lstmts.report.ranking import ranking_metric_of

    status = metrics.get("status", "unknown")
    text = f"job {number} {overrides or '(no overrides)'}: {status}"
    if status != "ok":
        return f"{text}: {metrics.get('error', '')}".rstrip(": ")
    metric = ranking_metric_of([metrics])
    text += f", {header(metric).replace('valid.', 'validation')} {_format(metrics[metric])}"
    test = metric.replace("validation_", "test_")
    if metric != test and metrics.get(test) is not None:
        text += f" (test {_format(metrics.get(test))})"
    return text
