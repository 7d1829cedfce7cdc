"""Internal. One module per command; each returns a `Result` and never prints."""
