# A platform team's fleet: twelve golden images. Each is a `null` stand-in (no cloud,
# no VM) so the fleet builds offline in seconds; the provisioner scripts are what a change
# touches. Every image runs scripts/common.sh; the roles add their own script:
#
#   web       ubuntu-web, rhel-web, windows-iis
#   database  ubuntu-postgres, rhel-postgres
#   ci-agent  ubuntu-ci, rhel-ci, windows-ci
#   cache     ubuntu-cache
#
# `hybridcore-packer plan examples/fleet` after editing scripts/ci-agent.sh lists exactly
# the three CI images. FLEET_FAIL=<source name> makes that image's build fail (to see what
# the gate says about a failed shard); FLEET_BUILD_SECONDS=N makes each build wait N seconds
# (as a real build waits on its cloud).

source "null" "ubuntu-base" {
  communicator = "none"
}

source "null" "rhel-base" {
  communicator = "none"
}

source "null" "windows-base" {
  communicator = "none"
}

source "null" "ubuntu-web" {
  communicator = "none"
}

source "null" "rhel-web" {
  communicator = "none"
}

source "null" "windows-iis" {
  communicator = "none"
}

source "null" "ubuntu-postgres" {
  communicator = "none"
}

source "null" "rhel-postgres" {
  communicator = "none"
}

source "null" "ubuntu-ci" {
  communicator = "none"
}

source "null" "rhel-ci" {
  communicator = "none"
}

source "null" "windows-ci" {
  communicator = "none"
}

source "null" "ubuntu-cache" {
  communicator = "none"
}

build {
  sources = [
    "source.null.ubuntu-base",
    "source.null.rhel-base",
    "source.null.windows-base",
    "source.null.ubuntu-web",
    "source.null.rhel-web",
    "source.null.windows-iis",
    "source.null.ubuntu-postgres",
    "source.null.rhel-postgres",
    "source.null.ubuntu-ci",
    "source.null.rhel-ci",
    "source.null.windows-ci",
    "source.null.ubuntu-cache",
  ]

  provisioner "shell-local" {
    environment_vars = ["IMAGE=${source.name}", "RELEASE=${var.release}"]
    script           = "${path.root}/scripts/common.sh"
  }

  provisioner "shell-local" {
    only             = ["null.ubuntu-web", "null.rhel-web", "null.windows-iis"]
    environment_vars = ["IMAGE=${source.name}"]
    script           = "${path.root}/scripts/web.sh"
  }

  provisioner "shell-local" {
    only             = ["null.ubuntu-postgres", "null.rhel-postgres"]
    environment_vars = ["IMAGE=${source.name}"]
    script           = "${path.root}/scripts/database.sh"
  }

  provisioner "shell-local" {
    only             = ["null.ubuntu-ci", "null.rhel-ci", "null.windows-ci"]
    environment_vars = ["IMAGE=${source.name}"]
    script           = "${path.root}/scripts/ci-agent.sh"
  }

  provisioner "shell-local" {
    only             = ["null.ubuntu-cache"]
    environment_vars = ["IMAGE=${source.name}"]
    script           = "${path.root}/scripts/cache.sh"
  }
}
