"""What an operator sees of a running taskstream: logs, metrics and trace context.

- `trace`: the W3C trace context (`traceparent`) of the work in progress. It comes in
  with each HTTP request (daprd sends one with every delivery and invocation) and with
  each CloudEvent; events made meanwhile carry a child of it, so one task write can be
  followed through every service, in both shapes.
- `logs`: JSON log lines (TASKSTREAM_LOG_FORMAT=json) with the trace and span ids.
- `metrics`: the Prometheus series of every service, served on /metrics (or on
  TASKSTREAM_METRICS_PORT when set, apart from the public port).
- `http`: the ASGI middleware that times requests, counts open WebSockets and sets the
  trace context; `install` adds it and /metrics to an app.

The other modules only call small functions of these (thin hooks), never the reverse.
"""
