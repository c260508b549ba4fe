"""RevivaTech Analytics: the shared domain package bundled into every function."""
