"""The measuring harness `make bench` (bench/) and `make cost` (cost/) share.

- `timing`: medians of repeated runs, percentiles, pinning to one core;
- `aws_calls`: every botocore call seen (the one place that hooks botocore), counted or metered;
- `catalog_calls`: the lake's SQL catalog loads and commits (Glue requests in AWS);
- `s3_requests`: the lake bucket's S3 requests, counted where the emulator receives them;
- `invocations`: a real handler invoked with a Lambda context, its CPU, wall time, logs and calls;
- `lambda_events`: the trigger events the handlers receive, and the stream read back;
- `tracker_requests`: the requests a browser tracker would send (`tracker/delivery-policy.json`);
- `traffic`: the simulator's traffic validated by ingest and laid out in Lambda batches per shard.

Neither bench/ nor cost/ imports anything from `tests/`; fakes come from `reviva_dev.fakes`.
"""
