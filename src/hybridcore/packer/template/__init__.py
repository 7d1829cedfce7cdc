"""Internal. Facts read from HCL templates without running Packer: variables, builds,
inputs, ISO sources and the secret policy."""
