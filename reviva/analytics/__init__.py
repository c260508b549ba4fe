"""Analytics over the lake for the dashboard: Athena SQL checked locally on DuckDB.

`queries` holds the SQL (Trino dialect, bound parameters), `sqlcompat` lints it and translates it to
DuckDB, `executors` run it on Athena or DuckDB, `rollups` precompute daily figures, `service` turns
requests into the JSON documented in docs/api-analytics.md.
"""
