"""`reviva ml`: the customer-intelligence commands (for now, the lifetime-value backtest)."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import typer
from rich.console import Console

ml_app = typer.Typer(
    help="Customer intelligence: lifetime value, churn risk.", no_args_is_help=True, rich_markup_mode=None
)
console = Console(soft_wrap=True)
error_console = Console(stderr=True, soft_wrap=True)
PROBLEMS_SHOWN = 20


def _parse_day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date YYYY-MM-DD", param_hint=option) from None


def write_predictions(path: Path, result: object) -> None:
    """The per-customer CSV: customer_id,predicted_purchases,p_alive,predicted_value,churn_risk."""
    from reviva.scoring.backtest import BacktestResult

    assert isinstance(result, BacktestResult)
    p = result.predictions
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["customer_id", "predicted_purchases", "p_alive", "predicted_value", "churn_risk"])
        for row in zip(
            p.customer_ids, p.predicted_purchases, p.p_alive, p.predicted_value, p.churn_risk, strict=True
        ):
            writer.writerow([row[0], *(f"{value:.6f}" for value in row[1:])])


def _auc(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def render_backtest(result: object) -> str:
    """The holdout figures of every candidate beside the naive baseline, as a fixed-width table."""
    from reviva.scoring.backtest import BacktestResult

    assert isinstance(result, BacktestResult)
    lines = [
        f"Holdout {result.calibration_end} .. {result.holdout_end} ({result.holdout_weeks:.1f} weeks), "
        "repeat purchases per customer:",
        f"{'model':<18}{'MAE':>8}{'RMSE':>8}{'predicted':>12}{'actual':>10}"
        f"{'total error':>13}{'return AUC':>12}",
    ]
    for figures in (*result.candidates, result.baseline):
        name = f"{figures.name} (chosen)" if figures.name == result.chosen else figures.name
        lines.append(
            f"{name:<18}{figures.mae:>8.3f}{figures.rmse:>8.3f}{figures.total_predicted:>12,.0f}"
            f"{figures.total_actual:>10,.0f}{figures.total_error:>+13.1%}{_auc(figures.return_auc):>12}"
        )
    return "\n".join(lines)


@ml_app.command("backtest-ltv")
def backtest_ltv(
    transactions: Path = typer.Option(
        ...,
        "--transactions",
        exists=True,
        dir_okay=False,
        readable=True,
        help="customer_id,date,amount CSV, or a CDNOW file as published.",
    ),
    calibration_end: str = typer.Option(..., "--calibration-end", help="Last day fitted on, YYYY-MM-DD."),
    holdout_end: str = typer.Option(..., "--holdout-end", help="Last day of the holdout, YYYY-MM-DD."),
    output: Path = typer.Option(..., "--output", dir_okay=False, help="Per-customer predictions CSV."),
) -> None:
    """Fit the lifetime-value models on the calibration window, predict the holdout, print the metrics."""
    from reviva.scoring.backtest import BacktestError, run_backtest
    from reviva.scoring.bgnbd import FitError
    from reviva.scoring.customer_summary import histories_from_transactions
    from reviva.scoring.transactions import TransactionFileError, parse_transactions

    calibration_day = _parse_day(calibration_end, "--calibration-end")
    holdout_day = _parse_day(holdout_end, "--holdout-end")
    if holdout_day <= calibration_day:
        raise typer.BadParameter("must be after --calibration-end", param_hint="--holdout-end")
    try:
        parsed = parse_transactions(transactions.read_text(encoding="utf-8"))
    except (TransactionFileError, UnicodeDecodeError) as error:
        error_console.print(f"[red]{transactions} cannot be read:[/red] {error}")
        raise typer.Exit(2) from error
    for problem in parsed.problems[:PROBLEMS_SHOWN]:
        error_console.print(f"line {problem.line}: {problem.reason}")
    if len(parsed.problems) > PROBLEMS_SHOWN:
        error_console.print(f"... and {len(parsed.problems) - PROBLEMS_SHOWN} more bad rows")
    console.print(f"{len(parsed.transactions):,} rows kept, {len(parsed.problems):,} left out")
    try:
        result = run_backtest(histories_from_transactions(parsed.transactions), calibration_day, holdout_day)
    except (BacktestError, FitError) as error:
        error_console.print(f"[red]No backtest:[/red] {error}")
        raise typer.Exit(2) from error
    write_predictions(output, result)

    bg, gg = result.bgnbd_params, result.gamma_gamma_params
    console.print(
        f"{result.customers:,} customers. "
        f"BG/NBD r={bg.r:.4f} alpha={bg.alpha:.4f} a={bg.a:.4f} b={bg.b:.4f}; "
        f"Gamma-Gamma p={gg.p:.4f} q={gg.q:.4f} v={gg.v:.4f}"
    )
    console.print(render_backtest(result), markup=False, highlight=False)
    console.print(
        f"Holdout spend: predicted {result.value_predicted:,.2f}, actual {result.value_actual:,.2f}, "
        f"naive {result.value_baseline:,.2f}"
    )
    churn = result.churn
    console.print(
        f"Churn: lapse gap {churn.lapse_gap_weeks:.1f} weeks; "
        f"{churn.customers_scored:,} customers lapse inside the holdout, {churn.lapsed_share:.1%} did "
        f"(mean risk {churn.mean_risk:.1%}, AUC {_auc(churn.auc)}, "
        f"Brier {churn.brier:.3f}); {churn.already_lapsed:,} had lapsed by calibration-end, "
        f"{churn.already_lapsed_returned_share:.1%} of them bought in the holdout"
    )
    console.print(f"Chosen: {result.chosen}. Predictions written to {output}")
