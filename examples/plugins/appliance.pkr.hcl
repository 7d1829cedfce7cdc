# A template with required_plugins, built offline: `hybridcore-packer init --plugin-mirror DIR`
# installs the qemu plugin from a local mirror (scripts/plugin-mirror.sh DIR builds one from
# its Go module), then `build` runs it on Packer >= 1.7 (scripts/install-packer.sh 1.9.5).
# The "VM" is a stand-in for qemu-system-x86_64; the disk is a real qcow2 image (qemu-img).
packer {
  required_plugins {
    qemu = {
      version = "~> 1.0.9"
      source  = "github.com/hashicorp/qemu"
    }
  }
}

source "qemu" "appliance" {
  iso_url          = "${path.root}/base.qcow2"
  iso_checksum     = "sha256:0e7db0d4ad0a3b83d343a88d5991fc5024f7a9ec21c1d0e5f15261ebc3fd587e"
  disk_image       = true
  format           = "qcow2"
  skip_resize_disk = true
  skip_compaction  = true
  vm_name          = "appliance.qcow2"
  output_directory = "${path.root}/out-appliance"
  qemu_binary      = "${path.root}/stand-in/qemu-system-x86_64"
  headless         = true
  disable_vnc      = true
  communicator     = "none"
  boot_wait        = "0s"
  shutdown_timeout = "30s"
}

build {
  sources = ["source.qemu.appliance"]

  post-processor "manifest" {
    output = "${path.root}/out-appliance/manifest.json"
  }
}
