"""Developer tooling that never ships in a Lambda asset: the local runtime, the traffic simulator,
the `reviva` command line and the in-memory fakes that tests, `make bench` and `make cost` share."""
