"""Real-time reporting over NATS JetStream: report batches in, feedback out.

Subjects (the prefix is `suptech` unless configured, so that tests can share a server):
- `<prefix>.reports.<report_type>.<submitter LEI>`: a batch of reports, as JSON Lines
  or Arrow IPC, published by an institution or a venue;
- `<prefix>.feedback.<submitter LEI>`: the answer to each batch (JSON), or to a
  message that could not be taken;
- `<prefix>.alerts.<region>`: alerts raised in real time (`suptech.detect.window`), each
  again as its case grows.
"""
