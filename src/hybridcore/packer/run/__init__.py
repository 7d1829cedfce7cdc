"""Internal. Running Packer: options to argv, the child environment, the process, its output
streams and raw log, classification, retry, parallel workers and their workspaces."""
