"""HTTP APIs served by the functions: routes and the mapping of typed errors to responses."""
