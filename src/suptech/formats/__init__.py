"""What the platform writes and both the simulators and the importers share: report files
of the specification and labels (`files`), synthetic identifiers that pass the real
checks (`ids`), ISO 20022 pacs.008 messages (`pacs008`). Neither `suptech.ingest` nor
`suptech.simulate` imports the other."""
