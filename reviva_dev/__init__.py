"""Developer tooling that never ships in a Lambda asset: the local runtime, the traffic simulator,
the `reviva` command line, the in-memory fakes (`reviva_dev.fakes`) that tests, `make bench` and
`make cost` share, and their shared measuring harness (`reviva_dev.measure`)."""
