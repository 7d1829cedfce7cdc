variable "release" {
  type        = string
  description = "The release every image of the fleet is stamped with."
  default     = "2026.12"
}
