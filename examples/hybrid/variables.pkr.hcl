variable "image_name" {
  type        = string
  description = "Base name of the golden image."
  default     = "golden-ubuntu"
}

variable "image_version" {
  type    = string
  default = "0.0.0-dev"
}

variable "vsphere_cluster" {
  type    = string
  default = "lab-cluster"
}

variable "azure_location" {
  type    = string
  default = "westeurope"
}

# Read from the environment only: hybridcore-packer treats every variable that
# is sensitive and read with env() as a secret, and redacts its value everywhere.
variable "registry_token" {
  type      = string
  default   = env("HYBRIDCORE_REGISTRY_TOKEN")
  sensitive = true
}

# Provisioner toggles: `hybridcore-packer build --provisioner hardening` sets
# enable_hardening=true (and every other enable_* variable to false).
variable "enable_hardening" {
  type    = bool
  default = true
}

variable "enable_ansible" {
  type    = bool
  default = false
}
