"""Read models served by the query function."""
