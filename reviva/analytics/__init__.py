"""Analytics over the lake for the dashboard: Athena SQL checked locally on DuckDB.

`ports` declares what it needs (a query executor, an object store, the lake's commit history;
adapters in `reviva.adapters`). `usecases` holds one module per endpoint (its parameters, its SQL,
its typed answer), `service` groups them for the routes, `rollups` precomputes daily figures and
`change_log` tells which of them late data has reached, `hll` and `sketch_sql` are the visitor
sketches (in Python and in the engine), `sql_fragments` holds what every query shares, and
`sqlcompat` lints the SQL and translates it to DuckDB.
"""
