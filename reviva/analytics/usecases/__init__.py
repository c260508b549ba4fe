"""The analytics endpoints, one use case per module: parameters, SQL, typed answer.

Each module parses its endpoint's parameters into a model (raising `InvalidParameter` naming the
bad one), runs its queries (the SQL lives beside it) or reads the rollups, and returns a typed
answer whose `to_json()` is the JSON docs/api-analytics.md documents. `reviva.analytics.service`
groups them for the query function's routes.
"""
