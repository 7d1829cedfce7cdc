image_name      = "golden-ubuntu"
image_version   = "1.4.0"
vsphere_cluster = "dc1-cluster-a"
azure_location  = "northeurope"
