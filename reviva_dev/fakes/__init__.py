"""In-memory fakes of the system's ports and of the AWS clients its adapters call.

One place: the tests, `make bench` (bench/) and `make cost` (cost/) all take their fakes from
here, so a port that changes shape breaks its one fake, in one module, and every user sees the
same behaviour. A fake lives in the module of the domain whose port it implements
(`reviva_dev.fakes.enrich` for `reviva.enrich.ports`, `reviva_dev.fakes.ingest` for ingest's
publisher and rejected store and the Kinesis client its publisher calls); nothing under `tests/`,
`bench/` or `cost/` defines a fake of a port for itself.
"""
