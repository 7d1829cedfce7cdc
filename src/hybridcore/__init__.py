"""hybridcore: platform tooling; `hybridcore.packer` wraps HashiCorp Packer."""

__version__ = "0.1.0"
