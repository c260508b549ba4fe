"""`reviva ml backtest-ltv` end to end on a generated file of simulated customers."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reviva.scoring.bgnbd import BgNbdParameters
from reviva_dev.cli import app
from tests.scoring.simulated_customers import simulated_transactions_csv

TRUTH = BgNbdParameters(r=0.6, alpha=5.0, a=0.8, b=2.5)


@pytest.fixture(scope="module")
def transactions_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    text = simulated_transactions_csv(TRUTH, 600, date(2024, 1, 1), birth_days=60, total_days=364, seed=11)
    lines = text.splitlines()
    # Three bad rows after the good ones: their line numbers are 2 + len(good rows) onwards.
    lines += ["c99999,2024-02-30,10", ",2024-03-01,10", lines[1]]
    path = tmp_path_factory.mktemp("ltv") / "transactions.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_backtest_writes_predictions_and_prints_the_holdout_metrics(
    transactions_file: Path, tmp_path: Path
) -> None:
    output = tmp_path / "predictions.csv"
    good_rows = len(transactions_file.read_text().splitlines()) - 4
    result = CliRunner().invoke(
        app,
        [
            "ml",
            "backtest-ltv",
            "--transactions",
            str(transactions_file),
            "--calibration-end",
            "2024-06-29",
            "--holdout-end",
            "2024-12-28",
            "--output",
            str(output),
        ],
    )
    assert result.exit_code == 0, result.output
    assert f"line {good_rows + 2}: date '2024-02-30' is not YYYY-MM-DD" in result.output
    assert f"line {good_rows + 3}: customer_id is missing" in result.output
    assert f"line {good_rows + 4}: duplicate of an earlier row" in result.output
    for label in ("bgnbd", "learned", "blend", "naive", "MAE", "RMSE", "return AUC", "Chosen:", "Churn:"):
        assert label in result.output

    with output.open() as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["customer_id", "predicted_purchases", "p_alive", "predicted_value", "churn_risk"]
    assert len(rows) == 600  # every simulated customer is born within the first 60 days
    for row in rows:
        assert float(row["predicted_purchases"]) >= 0
        assert 0 <= float(row["p_alive"]) <= 1
        assert float(row["predicted_value"]) >= 0
        assert 0 <= float(row["churn_risk"]) <= 1


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        (["--calibration-end", "2024-13-01", "--holdout-end", "2024-12-28"], "--calibration-end"),
        (["--calibration-end", "2024-06-29", "--holdout-end", "2024-06-01"], "--holdout-end"),
    ],
)
def test_bad_dates_name_the_option(
    transactions_file: Path, tmp_path: Path, arguments: list[str], named: str
) -> None:
    result = CliRunner().invoke(
        app,
        [
            "ml",
            "backtest-ltv",
            "--transactions",
            str(transactions_file),
            *arguments,
            "--output",
            str(tmp_path / "p.csv"),
        ],
    )
    assert result.exit_code == 2
    assert named in result.output
    assert not (tmp_path / "p.csv").exists()


def test_a_file_without_the_required_columns_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("customer,day,amount\nc1,2024-01-01,3\n", encoding="utf-8")
    result = CliRunner().invoke(
        app,
        [
            "ml",
            "backtest-ltv",
            "--transactions",
            str(path),
            "--calibration-end",
            "2024-06-01",
            "--holdout-end",
            "2024-09-01",
            "--output",
            str(tmp_path / "p.csv"),
        ],
    )
    assert result.exit_code == 2
    assert "missing customer_id, date" in result.output
