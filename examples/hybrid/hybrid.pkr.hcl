# Golden image stand-ins: the `null` sources play the vSphere and Azure
# targets so the example builds offline; the `file` source writes a seed file.

source "null" "vsphere" {
  communicator = "none"
}

source "null" "azure" {
  communicator = "none"
}

source "file" "seed" {
  content = "image=${var.image_name} version=${var.image_version}\n"
  target  = "${path.root}/out/seed-${var.image_version}.txt"
}

build {
  sources = [
    "source.null.vsphere",
    "source.null.azure",
    "source.file.seed",
  ]

  provisioner "shell-local" {
    environment_vars = [
      "IMAGE_NAME=${var.image_name}",
      "IMAGE_VERSION=${var.image_version}",
      "TARGET=${source.name}",
      "ENABLE_HARDENING=${var.enable_hardening}",
      "ENABLE_ANSIBLE=${var.enable_ansible}",
      "REGISTRY_TOKEN=${var.registry_token}",
    ]
    script = "${path.root}/scripts/provision.sh"
  }

  provisioner "shell-local" {
    only   = ["null.vsphere"]
    inline = ["echo vsphere cluster: ${var.vsphere_cluster}"]
  }

  provisioner "shell-local" {
    only   = ["null.azure"]
    inline = ["echo azure location: ${var.azure_location}"]
  }

  post-processor "manifest" {
    output     = "packer-manifest.json"
    strip_path = true
    custom_data = {
      image_version = var.image_version
    }
  }
}
