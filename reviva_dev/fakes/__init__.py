"""In-memory fakes of the system's ports and of the AWS clients and Lambda objects its code calls.

One place: the tests, `make bench` (bench/) and `make cost` (cost/) all take their fakes from
here, so a port that changes shape breaks its one fake, in one module, and every user sees the
same behaviour. A fake lives in the module of the domain whose port it implements:

- `reviva_dev.fakes.enrich`: the enrich service's ports (`reviva.enrich.ports`): visitors,
  counters, lake and poison sink in memory, with failure injection;
- `reviva_dev.fakes.ingest`: ingest's publisher and rejected store (`reviva.ingest.ports`), kept in
  memory, refusing or discarding, and the Kinesis client its publisher calls (accepting every
  record, or failing chosen ones);
- `reviva_dev.fakes.analytics`: the analytics layer's object store (`reviva.analytics.ports`);
- `reviva_dev.fakes.lambda_context`: the context object Lambda hands a handler (the local runtime,
  the measuring harness and the tests all pass this one).

Nothing under `tests/`, `bench/` or `cost/` defines a fake of a port for itself. (The privacy
policy's in-process salt store, `reviva.privacy.cookieless.MemorySaltStore`, is no fake: it is
the policy's default for a single process.)
"""
