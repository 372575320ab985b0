"""Report formats written by the platform (read by `suptech.ingest`)."""
