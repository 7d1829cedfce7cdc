"""Internal. The registry: versions of builds, channels, revocation and ancestry, in
SQLite (``<workdir>/state/registry.db``) or a shared PostgreSQL, behind one `Registry`."""
