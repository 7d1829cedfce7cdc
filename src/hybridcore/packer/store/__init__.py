"""Internal. What the tool keeps under --workdir: state files, artifact records, inputs
manifests, log summaries and the ISO cache."""
