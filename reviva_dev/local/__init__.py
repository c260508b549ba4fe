"""The local runtime behind `reviva dev`: moto's server, an API Gateway stand-in, stream pollers.

Modules: `emulator` (moto and the stack's resources), `gateway` (HTTP → API Gateway events →
handlers), `stream_poller` (Kinesis → consumer, with Lambda's retry semantics) and `runtime`
(wires them together). Import them directly; nothing here starts at import time.
"""
