"""Customer intelligence: lifetime value (BG/NBD, Gamma-Gamma, a learned model), churn risk, backtests.

`transactions` parses a store's purchase history (CSV or the published CDNOW files), `customer_summary`
turns it into each customer's frequency, recency, age and spend, `bgnbd` and `gamma_gamma` are the
probabilistic models fitted by maximum likelihood, `learned` the gradient-boosted model on the same
features, `churn` the lapse point and churn risk, and `backtest` fits on a calibration window and
scores the predictions on the holdout that follows.
"""
