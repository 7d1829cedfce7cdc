"""Classification of finished Packer runs, checked against real Packer / cloud SDK output.

Every input text below is quoted verbatim (or as a verbatim excerpt) from public output of
Packer 1.6.x-1.13 and its plugins, or of the cloud SDKs they embed; the comment above each
names the repository and issue or file it comes from. Exceptions are marked as such.
"""

from __future__ import annotations

import pytest

from hybridcore.packer.base.exit_class import ExitClass
from hybridcore.packer.run.classify import RULES, Classification, classify

# =====================================================================================
# security (3)
# =====================================================================================

# hashicorp/packer-plugin-amazon#177 (amazon-ebs, AWS SDK for Go v1 error framing)
AWS_UNAUTHORIZED_OPERATION = (
    "==> amazon-ebs: Prevalidating any provided VPC information\n"
    "==> amazon-ebs: Prevalidating AMI Name: test_tableau_ami\n"
    "==> amazon-ebs: Error querying AMI: UnauthorizedOperation: You are not authorized to "
    "perform this operation.\n"
    "==> amazon-ebs: \tstatus code: 403, request id: 43edddc2-9bdd-4fab-836f-62fcde035979\n"
    "Build 'amazon-ebs' errored after 1 second 901 milliseconds: Error querying AMI: "
    "UnauthorizedOperation: You are not authorized to perform this operation.\n"
    "\tstatus code: 403, request id: 43edddc2-9bdd-4fab-836f-62fcde035979\n"
    "\n"
    "==> Wait completed after 1 second 901 milliseconds\n"
    "\n"
    "==> Some builds didn't complete successfully and had errors:\n"
    "--> amazon-ebs: Error querying AMI: UnauthorizedOperation: You are not authorized to "
    "perform this operation.\n"
    "\tstatus code: 403, request id: 43edddc2-9bdd-4fab-836f-62fcde035979\n"
    "\n"
    "==> Builds finished but no artifacts were created.\n"
)

# Azure/azure-cli#32165: the Azure Resource Manager error body (code + message) that every
# Azure client, the azure-arm builder's SDK included, receives for a missing role assignment.
AZURE_AUTHORIZATION_FAILED = (
    "(AuthorizationFailed) The client 'EMAIL' with object id 'ObjectID' does not have "
    "authorization to perform action 'Microsoft.Resources/subscriptions/resourcegroups/write' "
    "over scope '/subscriptions/ID/resourcegroups/learningresource231' or the scope is "
    "invalid. If access was recently granted, please refresh your credentials.\n"
    "Code: AuthorizationFailed\n"
)

# hashicorp/packer#8515 (azure-arm builder, Packer 1.5; excerpt)
AZURE_LINKED_AUTHORIZATION_FAILED = (
    "==> azure-arm: ERROR: -> LinkedAuthorizationFailed : The client has permission to "
    "perform action 'Microsoft.Resources/subscriptions/tempimagebuildrg/Microsoft.Compute/"
    "packertempwin2019dc/read' on scope '/subscriptions/12ef276f-c342-456f-b802-909283fed03a/"
    "resourceGroups/prod.pce.sharedservices.imagegallery.eastus2/providers/Microsoft.Compute/"
    "galleries/"
)

# hashicorp/packer-plugin-azure#363 (plugin 2.0.2, Packer 1.10, -machine-readable output: the
# "\n" are literal backslash-n as Packer escapes them in that mode)
AZURE_PERMISSION_MISMATCH = (
    r"1705470897,,ui,error,==> azure-arm: Error deleting resource.  Please delete manually.\n"
    r"==> azure-arm: \n==> azure-arm: Name: https://PATH_TO_IMAGE.vhd\n==> azure-arm: Error: "
    r"blobs.Client#Delete: Failure responding to request: StatusCode=403 -- Original Error: "
    r'autorest/azure: Service returned an error. Status=403 Code="AuthorizationPermissionMismatch"'
    r' Message="This request is not authorized to perform this operation using this '
    r"permission.\nRequestId:ebe9bfd3-001c-009f-6109-49e1c6000000\n"
    r'Time:2024-01-17T05:54:57.1780684Z"'
    "\n"
)

# hashicorp/packer-plugin-googlecompute#275 (googlecompute-export post-processor, 2025)
GOOGLE_403_FORBIDDEN = (
    "==> cloudbackup.googlecompute.ubuntu (googlecompute-export): Creating instance...\n"
    "    cloudbackup.googlecompute.ubuntu (googlecompute-export): Loading zone: "
    "asia-southeast1-a\n"
    "==> cloudbackup.googlecompute.ubuntu (googlecompute-export): Error creating instance: "
    "googleapi: Error 403: Required 'compute.zones.get' permission for "
    "'projects/devops-xxxx-xxxx/zones/asia-southeast1-a', forbidden\n"
)

# riezebosch/vsts-tasks-packer#8 (azure-arm builder, autorest; same text in hashicorp/packer#5873).
# It ends in "error: EOF", which must not make it transient.
AZURE_STATUSCODE_403 = (
    "==> azure-arm: Getting tokens using client secret\n"
    "    azure-arm: Creating Azure Resource Manager (ARM) client ...\n"
    "==> azure-arm: ERROR: -> ResourceNotFound : The Resource "
    "'Microsoft.Compute/images/SRF_Selenium_Image' under resource group 'Packer' was not found.\n"
    "==> azure-arm:\n"
    "==> azure-arm: resources.GroupsClient#CheckExistence: Failure responding to request: "
    'StatusCode=403 -- Original Error: autorest/azure: error response cannot be parsed: "" '
    "error: EOF\n"
    "Build 'azure-arm' errored: resources.GroupsClient#CheckExistence: Failure responding to "
    "request: StatusCode=403 -- Original Error: autorest/azure: error response cannot be parsed: "
    '"" error: EOF\n'
)

# hashicorp/packer-plugin-proxmox#213 (Packer 1.9.2, plugin 1.1.3; excerpt)
PROXMOX_403_PERMISSION_CHECK = (
    "==> proxmox-iso.debian12: Creating VM\n"
    "==> proxmox-iso.debian12: Error creating VM: error creating VM: 403 Permission check "
    'failed (/sdn/zones/localnetwork/vmbr0, SDN.Use), error status: {"data":null}'
)

# vmware/packer-examples-for-vsphere#337 (Packer 1.8.4, vsphere plugin 1.1.0; govmomi fault)
VSPHERE_NO_PERMISSION = (
    "==> vsphere-iso.windows-desktop: Creating VM...\n"
    "==> vsphere-iso.windows-desktop: Customizing hardware...\n"
    "==> vsphere-iso.windows-desktop: Destroying VM...\n"
    "==> vsphere-iso.windows-desktop: Deleting cd_files image from remote datastore ...\n"
    "Build 'vsphere-iso.windows-desktop' errored after 1 second 513 milliseconds: "
    "ServerFaultCode: Permission to perform this operation was denied.\n"
)

# hashicorp/packer#9432 (issue title; vsphere-iso, Packer 1.6, govmomi url.Error)
VSPHERE_POST_FORBIDDEN = (
    "Build 'vsphere-iso' errored: Post \"https://vcenter.test.com/sdk\": Forbidden"
)

# hashicorp/packer#4553 (amazon-ebs, aws-sdk-go v1 credential chain; the same SDK text is
# printed by packer-plugin-amazon, e.g. SwampDragons/packer-examples#1 from 2021)
AWS_NO_CREDENTIAL_PROVIDERS = (
    "Build 'amazon-ebs' errored: NoCredentialProviders: no valid providers in chain. "
    "Deprecated. \n"
    "        For verbose messaging see aws.Config.CredentialsChainVerboseErrors\n"
    "\n"
    "==> Some builds didn't complete successfully and had errors:\n"
    "--> amazon-ebs: NoCredentialProviders: no valid providers in chain. Deprecated. \n"
    "        For verbose messaging see aws.Config.CredentialsChainVerboseErrors\n"
    "\n"
    "==> Builds finished but no artifacts were created.\n"
)

# =====================================================================================
# transient (2)
# =====================================================================================

# hashicorp/packer#6162 (amazon-ebs, 2019; lines from the terminal and the PACKER_LOG)
AWS_IO_TIMEOUT = (
    "==> amazon-ebs: Error stopping instance: RequestError: send request failed\n"
    "==> amazon-ebs: caused by: Post https://ec2.us-east-1.amazonaws.com/: dial tcp: lookup "
    "ec2.us-east-1.amazonaws.com on 168.63.129.16:53: read udp "
    "10.1.0.4:45443->168.63.129.16:53: i/o timeout\n"
    "==> amazon-ebs: Terminating the source AWS instance...\n"
    "Build 'amazon-ebs' errored: Error stopping instance: RequestError: send request failed\n"
    "2019/10/22 20:08:30 [INFO] (telemetry) ending amazon-ebs\n"
    "\n"
    "caused by: Post https://ec2.us-east-1.amazonaws.com/: dial tcp: lookup "
    "ec2.us-east-1.amazonaws.com on 168.63.129.16:53: read udp "
    "10.1.0.4:45443->168.63.129.16:53: i/o timeout\n"
)

# jetbrains-infra/packer-builder-vsphere#313 (vsphere-iso, 2020, govmomi; PACKER_LOG lines)
VSPHERE_CONNECTION_RESET = (
    "2020/05/14 10:54:16 ui: ==> vsphere-iso: Destroying VM...\n"
    "2020/05/14 10:54:17 ui error: Build 'vsphere-iso' errored: Post "
    '"https://vmvcs001.xxxx.com/sdk": read tcp 10.173.143.84:51242->10.14.203.48:443: read: '
    "connection reset by peer\n"
    '2020/05/14 10:54:17 ui error: --> vsphere-iso: Post "https://vmvcs001.xxxxx.com/sdk": '
    "read tcp 10.173.143.84:51242->10.14.203.48:443: read: connection reset by peer\n"
)

# hashicorp/packer-plugin-amazon#557 (Packer 1.13.1, amazon plugin 1.3.7)
AWS_TLS_HANDSHAKE_TIMEOUT = (
    "==> my-ami.amazon-ebs.phonetix: Deleting temporary security group...\n"
    "==> my-ami.amazon-ebs.phonetix: Deleting temporary keypair...\n"
    "Build 'my-ami.amazon-ebs.phonetix' errored after 3 minutes 2 seconds: Couldn't find "
    "specified instance profile: RequestError: send request failed\n"
    'caused by: Post "https://iam.amazonaws.com/": net/http: TLS handshake timeout\n'
)

# hashicorp/packer#8802 (azure-arm, Packer 1.5.3 with -timestamp-ui; Azure SDK for Go autorest)
AZURE_DEADLINE_FUTURE = (
    "2020-02-26T17:39:58Z: ==> azure-arm: Future#WaitForCompletion: context has been "
    "cancelled: StatusCode=200 -- Original Error: context deadline exceeded\n"
)

# hashicorp/packer-plugin-azure#544 (azure-arm, 2025; markdown emphasis removed)
AZURE_DEADLINE_VHD_COPY = (
    " Copying VHD to Storage Account ...\n"
    " Storage Container Name    : 'images'\n"
    " VHD Name                  : 'pkrosoz23egj1lh.vhd'\n"
    " failed to capture OS Disk with err : failed to copy to storage with err : error "
    "copying: waiting for file to copy: context deadline exceeded\n"
    " Revoking access ...\n"
    " Provisioning step had errors: Running the cleanup provisioner, if present...\n"
)

# vmware/packer-plugin-vsphere#464 (Packer 1.11.1, vsphere-iso)
VSPHERE_UNEXPECTED_EOF = (
    "==> win2022.vsphere-iso.ws2022: Waiting for IP...\n"
    "==> win2022.vsphere-iso.ws2022: Clearing boot order...\n"
    "==> win2022.vsphere-iso.ws2022: Powering off virtual machine...\n"
    "==> win2022.vsphere-iso.ws2022: Destroying VM...\n"
    "    win2022.vsphere-iso.ws2022: Closing sessions ....\n"
    "Build 'win2022.vsphere-iso.ws2022' errored after 1 minute 27 seconds: Post "
    '"https://vcntr-vroot.local/sdk": unexpected EOF\n'
)

# vmware/packer-plugin-vsphere#508 (issue title; Packer 1.11.2, plugin 1.4.2)
VSPHERE_EOF = "Build 'vsphere-iso...' errored: Post \"https://********/sdk\": EOF"

# hashicorp/packer#10071 (issue title; amazon-ebs, Packer 1.6.2)
AWS_REQUEST_LIMIT_EXCEEDED = (
    "amazon-ebs: Error modify AMI attributes: RequestLimitExceeded: Request limit exceeded."
)

# hashicorp/packer#4030 (amazon-ebs; EC2 answers RequestLimitExceeded with HTTP 503)
AWS_REQUEST_LIMIT_EXCEEDED_503 = (
    "==> amazon-ebs: Error waiting for instance to stop: RequestLimitExceeded: Request limit "
    "exceeded.\n"
    "==> amazon-ebs:     status code: 503, request id:\n"
    "==> amazon-ebs: Terminating the source AWS instance...\n"
    "Build 'amazon-ebs' errored: Error waiting for instance to stop: RequestLimitExceeded: "
    "Request limit exceeded.\n"
    "    status code: 503, request id: \n"
)

# aws/aws-sdk-go#3869 (AWS SDK for Go v1 error, quoted as Go %q prints it)
AWS_THROTTLING = r"Throttling: Maximum sending rate exceeded.\n\tstatus code: 400"

# Azure/azqr#34 (Azure SDK for Go azcore ResponseError framing)
AZURE_HTTP_429 = (
    "--------------------------------------------------------------------------------\n"
    "RESPONSE 429: 429 Too Many Requests\n"
    "ERROR CODE: ResourceRequestsThrottled\n"
    "--------------------------------------------------------------------------------\n"
    "{\n"
    '  "error": {\n'
    '    "code": "ResourceRequestsThrottled",\n'
    '    "message": "Number of requests for action \'Microsoft.Cdn/profiles/read\' exceeded the '
    "limit of '50' for time interval '00:05:00'. Please try again after '372' seconds.\"\n"
    "  }\n"
    "}\n"
)

# hashicorp/packer#1253 (amazon-ebs, EC2 HTTP 500)
AWS_HTTP_500 = (
    "==> amazon-ebs: Launching a source AWS instance...\n"
    "==> amazon-ebs: Error launching source instance: 500 Internal Server Error\n"
    "==> amazon-ebs: Deleting temporary security group...\n"
    "==> amazon-ebs: Deleting temporary keypair...\n"
    "Build 'amazon-ebs' errored: Error launching source instance: 500 Internal Server Error\n"
)

# openshift/vsphere-problem-detector#83 (govmomi SOAP client answer from vCenter)
GOVMOMI_HTTP_503 = (
    'Failed to run checks: failed to connect to vcenter POST "/sdk": 503 Service Unavailable.'
)

# hashicorp/packer#2485 (amazon-ebs; arrives with "status code: 500", still a capacity error)
AWS_INSUFFICIENT_CAPACITY = (
    "Build 'amazon-ebs' errored: Error launching source instance: InsufficientInstanceCapacity: "
    "We currently do not have sufficient m4.large capacity in the Availability Zone you "
    "requested (us-east-1a). Our system will be working on provisioning additional capacity. "
    "You can currently get m4.large capacity by not specifying an Availability Zone in your "
    "request or choosing us-east-1d, us-east-1e, us-east-1c.\n"
    "    status code: 500, request id: []\n"
)

# hashicorp/packer#11858 (proxmox, 2022)
PROXMOX_SSH_TIMEOUT = (
    "==> ubuntu-server-jammy.proxmox.ubuntu-server-jammy: Timeout waiting for SSH.\n"
    "==> ubuntu-server-jammy.proxmox.ubuntu-server-jammy: Stopping VM\n"
    "==> ubuntu-server-jammy.proxmox.ubuntu-server-jammy: Deleting VM\n"
    "Build 'ubuntu-server-jammy.proxmox.ubuntu-server-jammy' errored after 20 minutes 24 "
    "seconds: Timeout waiting for SSH.\n"
    "\n"
    "==> Wait completed after 20 minutes 24 seconds\n"
    "\n"
    "==> Some builds didn't complete successfully and had errors:\n"
    "--> ubuntu-server-jammy.proxmox.ubuntu-server-jammy: Timeout waiting for SSH.\n"
    "\n"
    "==> Builds finished but no artifacts were created.\n"
)

# kubernetes-sigs/image-builder#387 (qemu, September 2020, i.e. Packer 1.6.x: go-getter
# "bad response code", "errored after <duration>", "Wait completed")
ISO_DOWNLOAD_PACKER_1_6 = (
    "==> ubuntu-1804: Retrieving ISO\n"
    "==> ubuntu-1804: Trying http://cdimage.ubuntu.com/releases/18.04/release/"
    "ubuntu-18.04.4-server-amd64.iso\n"
    "==> ubuntu-1804: Download failed bad response code: 404\n"
    "==> ubuntu-1804: error downloading ISO: [bad response code: 404]\n"
    "Build 'ubuntu-1804' errored after 1 second 762 milliseconds: error downloading ISO: "
    "[bad response code: 404]\n"
    "\n"
    "==> Wait completed after 1 second 762 milliseconds\n"
    "\n"
    "==> Some builds didn't complete successfully and had errors:\n"
    "--> ubuntu-1804: error downloading ISO: [bad response code: 404]\n"
    "\n"
    "==> Builds finished but no artifacts were created.\n"
)

# nickzer0/RedLab#3 (vmware-iso, 2022, Packer 1.8: packer-plugin-sdk StepDownload). The
# mirror's 403 is a download failure, not a credentials problem.
ISO_DOWNLOAD_PACKER_1_8_403 = (
    "==> vmware-iso: Download failed bad response code: 403\n"
    "==> vmware-iso: error downloading ISO: [bad response code: 403]\n"
    "Build 'vmware-iso' errored after 1 second 773 milliseconds: error downloading ISO: "
    "[bad response code: 403]\n"
)

# udacity/devops-intro-project#87 (virtualbox-iso, 2019: a network error inside the list)
ISO_DOWNLOAD_CONNECTION_REFUSED = (
    "==> virtualbox-iso: Retrieving ISO\n"
    "==> virtualbox-iso: Trying http://releases.ubuntu.com/trusty/ubuntu-14.04.6-server-amd64.iso\n"
    "==> virtualbox-iso: Download failed Get "
    "http://releases.ubuntu.com/trusty/ubuntu-14.04.6-server-amd64.iso: dial tcp "
    "91.189.88.148:80: connectex: No connection could be made because the target machine "
    "actively refused it.\n"
    "==> virtualbox-iso: error downloading ISO: [Get "
    "http://releases.ubuntu.com/trusty/ubuntu-14.04.6-server-amd64.iso: dial tcp "
    "91.189.88.148:80: connectex: No connection could be made because the target machine "
    "actively refused it.]\n"
)

# udacity/devops-intro-project#74 (virtualbox-iso, 2018: the Packer < 1.4 wording)
ISO_DOWNLOAD_PRE_1_4 = (
    "==> virtualbox-iso: Retrieving ISO\n"
    "    virtualbox-iso: Error downloading: Error making HTTP GET request: 404 Not Found\n"
    "==> virtualbox-iso: ISO download failed.\n"
    "Build 'virtualbox-iso' errored: ISO download failed.\n"
)

# hashicorp/packer-plugin-googlecompute#104 (plugin 1.0.13 PACKER_LOG): a transient GCE error
# wrapped in "1 error(s) occurred:"
GOOGLE_WRAPPED_INTERNAL_ERROR = (
    "2022/07/08 00:02:07 packer-plugin-googlecompute_v1.0.13_x5.0_linux_amd64 plugin: "
    "2022/07/08 00:02:07 Retryable error: 1 error(s) occurred:\n"
    "2022/07/08 00:02:07 packer-plugin-googlecompute_v1.0.13_x5.0_linux_amd64 plugin: \n"
    "2022/07/08 00:02:07 packer-plugin-googlecompute_v1.0.13_x5.0_linux_amd64 plugin: "
    "* Internal error. Please try again or contact Google Support. "
    "(Code: '-2486866303847494777')\n"
)

# =====================================================================================
# config (1)
# =====================================================================================

# vmware/packer-examples-for-vsphere#802 (Packer 1.10, HCL2)
UNSET_VARIABLE = (
    "packer build -force -on-error=ask \n"
    'Error: Unset variable "vm_disk_device"\n'
    "\n"
    "A used variable must be set or have a default value; see\n"
    "https://packer.io/docs/templates/hcl_templates/syntax for details.\n"
    "\n"
    'Error: Unset variable "vm_disk_use_swap"\n'
    "\n"
    "A used variable must be set or have a default value; see\n"
    "https://packer.io/docs/templates/hcl_templates/syntax for details.\n"
)

# hashicorp/packer#9520 (Packer 1.6.0, legacy JSON template)
UNSET_VARIABLE_JSON = (
    'Error initializing core: Failed to interpolate "stored_image_name": "{{user '
    '`system_name`}}-{{user `environment`}}-{{isotime "200601020304"}}"; error: template: '
    'root:1:2: executing "root" at <user `system_name`>: error calling user: Error: variable '
    "not set: system_name: Please make sure that the variable you're referencing has been "
    "defined; Packer treats all variables used to interpolate other user varaibles as required."
)

# Not a quote: rendered from the diagnostic in hashicorp/packer hcl2template/types.variables.go
# (Summary "Undefined -var variable", Detail format string; the printer's word-wrapping is
# not reproduced). No verbatim public copy of the rendered error was found.
UNDEFINED_VAR_VARIABLE = (
    "Error: Undefined -var variable\n"
    "\n"
    'A "devbox_user" variable was passed in the command line but was not found in known '
    'variables. To declare variable "devbox_user", place this block in one of your .pkr '
    "files, such as variables.pkr.hcl\n"
)

# hashicorp/packer-plugin-proxmox#105 (Packer 1.8.3)
UNSUPPORTED_ARGUMENT = (
    "Error: Unsupported argument\n"
    "\n"
    "  on source-iso-raw.pkr.hcl line 29:\n"
    "  (source code not available)\n"
    "\n"
    'An argument named "vga" is not expected here. Did you mean to define a block of\n'
    'type "vga"?\n'
)

# hashicorp-education/learn-terraform-provisioning#23 (Packer >= 1.10, HCL2 source block)
UNKNOWN_SOURCE_TYPE = (
    "Error: Unknown source type amazon-ebs\n"
    "\n"
    "  on image.pkr.hcl line 41:\n"
    "  (source code not available)\n"
    "\n"
    "The source amazon-ebs is unknown by Packer, and is likely part of a plugin that\n"
    "is not installed.\n"
    "You may find the needed plugin along with installation instructions documented\n"
    "on the Packer integrations page.\n"
    "\n"
    "https://developer.hashicorp.com/packer/integrations?filter=amazon\n"
)

# binary-manu/arch-ansible#33 (Packer 1.10, legacy JSON template: the builder form)
UNKNOWN_BUILDER_JSON = (
    'Error: Failed to initialize build "virtualbox-iso"\n'
    "\n"
    "The builder virtualbox-iso is unknown by Packer, and is likely part of a plugin\n"
    "that is not installed.\n"
    "You may find the needed plugin along with installation instructions documented\n"
    "on the Packer integrations page.\n"
    "\n"
    "https://developer.hashicorp.com/packer/integrations?filter=virtualbox\n"
)

# martincarstenbach/packer-blogposts README.md (Packer 1.13.1)
MISSING_PLUGINS = (
    "Error: Missing plugins\n"
    "\n"
    "The following plugins are required, but not installed:\n"
    "\n"
    "* github.com/hashicorp/ansible ~> 1\n"
    "* github.com/hashicorp/qemu ~> 1\n"
    "* github.com/hashicorp/vagrant ~> 1\n"
    "\n"
    "Did you run packer init for this project ?\n"
)

# OpenNebula/one-apps#98 (qemu, 2024, packer-plugin-sdk StepDownload ChecksumError)
ISO_CHECKSUM_MISMATCH = (
    "==> qemu.opensuse: Checksum did not match, removing "
    "/root/.cache/packer/ffd9670c3784907bfc347cd70eeaca43da56f4f9.iso\n"
    "==> qemu.opensuse: error downloading ISO: [Checksums did not match for "
    "/root/.cache/packer/ffd9670c3784907bfc347cd70eeaca43da56f4f9.iso.\n"
    "==> qemu.opensuse: Expected: "
    "a160a84ec760a8beddaeb09579430851e43ac4c36620191305634a46de640c7a\n"
    "==> qemu.opensuse: Got: 752ffbd2cf187a2bf1f796f6dffac7ce4f7a9e870eb86ff29cec714c0a831be6\n"
    "==> qemu.opensuse: *sha256.digest]\n"
    "Build 'qemu.opensuse' errored after 16 seconds 713 milliseconds: error downloading ISO: "
    "[Checksums did not match for "
    "/root/.cache/packer/ffd9670c3784907bfc347cd70eeaca43da56f4f9.iso.\n"
    "Expected: a160a84ec760a8beddaeb09579430851e43ac4c36620191305634a46de640c7a\n"
    "Got: 752ffbd2cf187a2bf1f796f6dffac7ce4f7a9e870eb86ff29cec714c0a831be6\n"
    "*sha256.digest]\n"
)

# chunqi/packer-plugin-keepass README.md (data source; an HCL2 diagnostic with a location,
# so it must not be taken for a syntax error)
FILE_NOT_FOUND = (
    "Error: Datasource.Execute failed: open example.kdbx: no such file or directory\n"
    "\n"
    "  on example/data.pkr.hcl line 1:\n"
    "  (source code not available)\n"
)

# Packer 1.6.6, a shell-local script that fails after printing an error of its own
PROVISIONER_FAILED = (
    "null.db: output will be in this color.\n"
    "==> null.db: Running local shell script: images/db.sh\n"
    "==> null.db: cat: /etc/motd.d: No such file or directory\n"
    "==> null.db: Provisioning step had errors: Running the cleanup provisioner, if present...\n"
    "Build 'null.db' errored after 12 milliseconds 684 microseconds: Script exited with "
    "non-zero exit status: 1.Allowed exit codes are: [0]\n"
    "==> Wait completed after 12 milliseconds 720 microseconds\n"
    "==> Some builds didn't complete successfully and had errors:\n"
    "--> null.db: Script exited with non-zero exit status: 1.Allowed exit codes are: [0]\n"
    "==> Builds finished but no artifacts were created.\n"
)

# digitalocean/marketplace-partners#163 (Packer 1.8.3: a legacy template named *.pkr.json)
HCL_STRUCTURE_ERROR = (
    "Error: Extraneous JSON object property\n"
    "\n"
    "  on marketplace-image.pkr.json line 9:\n"
    '   9:   "sensitive-variables": ["do_token"],\n'
    "\n"
    'No argument or block type is named "sensitive-variables".\n'
    "\n"
    "Error: Extraneous JSON object property\n"
    "\n"
    "  on marketplace-image.pkr.json line 10:\n"
    '  10:   "builders": [\n'
    "\n"
    'No argument or block type is named "builders".\n'
)

# hashicorp/packer#8999 (Packer 1.5.5 reading an HCL file as a JSON template; Packer >= 1.7
# wraps the same "Error parsing JSON" in "Failed to parse file as legacy JSON template",
# hashicorp/packer command/meta.go)
JSON_SYNTAX_ERROR = (
    "Failed to parse template: Error parsing JSON: invalid character '#' looking for "
    "beginning of value\n"
    "At line 1, column 1 (offset 1):\n"
    "    1: #\n"
    "      ^\n"
    "\n"
    "==> Builds finished but no artifacts were created.\n"
)

# hashicorp/packer#11294 (Packer 1.7.5, HCL2; a plugin's config validation error)
ONE_ERROR_OCCURRED = (
    "Error: 1 error(s) occurred:\n"
    "\n"
    "* ssh_private_key_file is invalid: CreateFile <unknown>: The filename, directory name, "
    "or volume label syntax is incorrect.\n"
    "\n"
    "  on sshkey.pkr.hcl line 12:\n"
    "  (source code not available)\n"
)

# hashicorp/packer#6777 (packer validate, legacy JSON template)
ONE_ERROR_OCCURRED_JSON = (
    "Template validation failed. Errors are shown below.\n"
    "\n"
    "Errors validating build 'amazon-ebs'. 1 error(s) occurred:\n"
    "\n"
    "* An ssh_username must be specified\n"
    '  Note: some builders used to default ssh_username to "root".\n'
)

# =====================================================================================
# texts no rule may claim
# =====================================================================================

# packer-community/packer-windows-plugins#67: a provisioner script failure
SCRIPT_FAILED = (
    "Build 'amazon-ebs' errored: Script exited with non-zero exit status: 1. Allowed exit "
    "codes are: [0]"
)

# hashicorp/packer#12020 (PR description): the output of a build that succeeded, with the
# var-file "Warning: Undefined variable"
SUCCESSFUL_BUILD_WITH_WARNING = (
    "Warning: Undefined variable\n"
    "\n"
    'A "testvar" variable was set but was not found in known variables. To declare\n'
    'variable "testvar", place this block in one of your .pkr files, such as\n'
    "variables.pkr.hcl\n"
    "\n"
    'variable "testvar" {\n'
    "  type = string\n"
    "}\n"
    "\n"
    "\n"
    "null.test: output will be in this color.\n"
    "\n"
    "Build 'null.test' finished after 753 microseconds.\n"
    "\n"
    "==> Wait completed after 795 microseconds\n"
    "\n"
    "==> Builds finished. The artifacts of successful builds are:\n"
)

# Parallels/packer-examples#31: the warning Packer >= 1.10 prints for every template
# without required_plugins, spliced (two real texts) onto the script failure above.
BUNDLED_PLUGINS_WARNING_THEN_SCRIPT_FAILED = (
    "Warning: Bundled plugins used\n"
    "\n"
    "This template relies on the use of plugins bundled into the Packer binary.\n"
    "The practice of bundling external plugins into Packer will be removed in an\n"
    "upcoming version.\n"
    "\n"
    "To remove this warning, add the following section to your template:\n"
    "\n"
    "\n"
    "packer {\n"
    "  required_plugins {\n"
    "    vagrant = {\n"
    '      source  = "github.com/hashicorp/vagrant"\n'
    '      version = "~> 1"\n'
    "    }\n"
    "  }\n"
    "}\n"
    "\n"
    "Then run 'packer init' to manage installation of the plugins\n"
    "\n" + SCRIPT_FAILED
)

# hashicorp/packer-plugin-proxmox#320: "500" here is a wrong API URL, not a server hiccup
PROXMOX_500_WRONG_URL = (
    "==> ubuntu-runner.proxmox-iso.ubuntu-runner: Error creating VM: 500 no such file "
    "'/version'\n"
    "Build 'ubuntu-runner.proxmox-iso.ubuntu-runner' errored after 15 seconds 361 "
    "milliseconds: Error creating VM: 500 no such file '/version'\n"
)

# hashicorp/packer#12683 (amazon-ebs, 2023): AWS "Client.InternalError" is a KMS key
# problem; retrying does not help
AWS_CLIENT_INTERNAL_ERROR_KMS = (
    "==> amazon-ebs.linux: Error waiting for instance (i-0e19fe8f88662c2e9) to become ready: "
    "ResourceNotReady: failed waiting for successful resource state\n"
    "==> amazon-ebs.linux: Instance state change details: Client.InternalError: "
    "Client.InvalidKMSKey.InvalidState: The KMS key provided is in an incorrect state\n"
)

# hashicorp/packer-plugin-azure#401 (plugin 2.1.0 bug, Packer 1.10.2): "deadline" but no
# deadline was exceeded
AZURE_NO_DEADLINE_BUG = (
    "Build 'azure-arm.web-image' errored after 254 milliseconds 3 microseconds: loading "
    "results: the context used must have a deadline attached for polling purposes, but got "
    "no deadline"
)

# hashicorp/packer#10018 (Packer 1.6.3 azure-arm plugin crash): an EOF that is not an API call
AZURE_PLUGIN_CRASH_EOF = (
    "==> azure-arm: WARNING: Zone resiliency may not be supported in West US, checkout the "
    "docs at https://docs.microsoft.com/en-us/azure/availability-zones/\n"
    "Build 'azure-arm' errored after 972 milliseconds 491 microseconds: unexpected EOF\n"
)

# Adapted, not verbatim: UNSUPPORTED_ARGUMENT with the line number changed from 29 to 429,
# to pin that a bare "429" is not read as HTTP 429.
UNSUPPORTED_ARGUMENT_ON_LINE_429 = UNSUPPORTED_ARGUMENT.replace("line 29:", "line 429:")


CASES = [
    # security
    pytest.param(AWS_UNAUTHORIZED_OPERATION, "unauthorized_operation", id="aws-unauthorized-op"),
    pytest.param(AZURE_AUTHORIZATION_FAILED, "unauthorized_operation", id="azure-authz-failed"),
    pytest.param(
        AZURE_LINKED_AUTHORIZATION_FAILED, "unauthorized_operation", id="azure-linked-authz"
    ),
    pytest.param(AZURE_PERMISSION_MISMATCH, "unauthorized_operation", id="azure-perm-mismatch"),
    pytest.param(GOOGLE_403_FORBIDDEN, "access_denied", id="google-403-forbidden"),
    pytest.param(AZURE_STATUSCODE_403, "access_denied", id="azure-statuscode-403-eof"),
    pytest.param(PROXMOX_403_PERMISSION_CHECK, "access_denied", id="proxmox-403"),
    pytest.param(VSPHERE_NO_PERMISSION, "access_denied", id="vsphere-no-permission"),
    pytest.param(VSPHERE_POST_FORBIDDEN, "access_denied", id="vsphere-post-forbidden"),
    pytest.param(AWS_NO_CREDENTIAL_PROVIDERS, "no_credentials", id="aws-no-credential-providers"),
    # transient
    pytest.param(AWS_IO_TIMEOUT, "io_timeout", id="aws-io-timeout"),
    pytest.param(VSPHERE_CONNECTION_RESET, "connection_reset", id="vsphere-connection-reset"),
    pytest.param(AWS_TLS_HANDSHAKE_TIMEOUT, "tls_handshake_timeout", id="aws-tls-handshake"),
    pytest.param(AZURE_DEADLINE_FUTURE, "deadline_exceeded", id="azure-deadline-future"),
    pytest.param(AZURE_DEADLINE_VHD_COPY, "deadline_exceeded", id="azure-deadline-vhd-copy"),
    pytest.param(VSPHERE_UNEXPECTED_EOF, "api_eof", id="vsphere-post-unexpected-eof"),
    pytest.param(VSPHERE_EOF, "api_eof", id="vsphere-post-eof"),
    pytest.param(AWS_REQUEST_LIMIT_EXCEEDED, "throttled", id="aws-request-limit"),
    pytest.param(AWS_REQUEST_LIMIT_EXCEEDED_503, "throttled", id="aws-request-limit-503"),
    pytest.param(AWS_THROTTLING, "throttled", id="aws-throttling"),
    pytest.param(AZURE_HTTP_429, "throttled", id="azure-http-429"),
    pytest.param(AWS_HTTP_500, "server_error", id="aws-http-500"),
    pytest.param(GOVMOMI_HTTP_503, "server_error", id="govmomi-http-503"),
    pytest.param(AWS_INSUFFICIENT_CAPACITY, "insufficient_capacity", id="aws-capacity"),
    pytest.param(PROXMOX_SSH_TIMEOUT, "communicator_timeout", id="ssh-timeout"),
    pytest.param(ISO_DOWNLOAD_PACKER_1_6, "iso_download", id="iso-download-1.6"),
    pytest.param(ISO_DOWNLOAD_PACKER_1_8_403, "iso_download", id="iso-download-1.8-403"),
    pytest.param(ISO_DOWNLOAD_CONNECTION_REFUSED, "iso_download", id="iso-download-refused"),
    pytest.param(ISO_DOWNLOAD_PRE_1_4, "iso_download", id="iso-download-pre-1.4"),
    # config
    pytest.param(UNSET_VARIABLE, "unset_variable", id="unset-variable"),
    pytest.param(UNSET_VARIABLE_JSON, "unset_variable", id="unset-variable-json"),
    pytest.param(UNDEFINED_VAR_VARIABLE, "undefined_variable", id="undefined-var-variable"),
    pytest.param(UNSUPPORTED_ARGUMENT, "unsupported_argument", id="unsupported-argument"),
    pytest.param(UNKNOWN_SOURCE_TYPE, "unknown_source_type", id="unknown-source-type"),
    pytest.param(UNKNOWN_BUILDER_JSON, "unknown_source_type", id="unknown-builder-json"),
    pytest.param(MISSING_PLUGINS, "missing_plugins", id="missing-plugins"),
    pytest.param(ISO_CHECKSUM_MISMATCH, "iso_checksum", id="iso-checksum-mismatch"),
    pytest.param(FILE_NOT_FOUND, "no_template", id="file-not-found"),
    pytest.param(PROVISIONER_FAILED, "provisioner_failed", id="provisioner-failed"),
    pytest.param(HCL_STRUCTURE_ERROR, "hcl_syntax", id="hcl-extraneous-property"),
    pytest.param(JSON_SYNTAX_ERROR, "hcl_syntax", id="json-syntax"),
    pytest.param(ONE_ERROR_OCCURRED, "multiple_errors", id="one-error-occurred"),
    pytest.param(ONE_ERROR_OCCURRED_JSON, "multiple_errors", id="one-error-occurred-json"),
]

RULE_BY_NAME = {rule.name: rule for rule in RULES}


@pytest.mark.parametrize(("text", "rule_name"), CASES)
def test_real_output_is_classified_by_its_rule(text: str, rule_name: str) -> None:
    rule = RULE_BY_NAME[rule_name]
    result = classify("build", 1, text)
    assert (result.exit_code, result.klass, result.rule, result.remediation) == (
        rule.exit_code,
        rule.klass,
        rule.name,
        rule.remediation,
    )
    assert result.retryable is (rule.klass == "transient")
    assert result.evidence and result.evidence in text and "\n" not in result.evidence


def test_every_rule_has_a_real_case() -> None:
    covered = {param.values[1] for param in CASES}
    assert covered == set(RULE_BY_NAME)


def test_rule_names_are_unique() -> None:
    assert len(RULE_BY_NAME) == len(RULES)


def test_table_is_ordered_security_transient_config() -> None:
    ranks = {"security": 0, "transient": 1, "config": 2}
    order = [ranks[rule.klass] for rule in RULES]
    assert order == sorted(order)


@pytest.mark.parametrize("text", [AWS_UNAUTHORIZED_OPERATION, AWS_IO_TIMEOUT, SCRIPT_FAILED, ""])
@pytest.mark.parametrize("command", ["build", "validate", "fmt", "init"])
def test_exit_status_zero_is_always_ok(command: str, text: str) -> None:
    result = classify(command, 0, text)
    assert result == Classification(ExitClass.OK, "ok", None)
    assert result.retryable is False


# karuppiah7890/database-stuff temp-trials/.../digital-ocean-deployment/trial1/STORY.md:
# `packer fmt` lists the files it (re)formats; with -check it lists them and exits 3.
FMT_CHECK_OUTPUT = "redis-server.pkr.hcl\n"


def test_fmt_check_status_3_is_config() -> None:
    result = classify("fmt", 3, FMT_CHECK_OUTPUT)
    assert (result.exit_code, result.klass, result.rule) == (1, "config", "fmt_check")
    assert result.remediation
    assert result.retryable is False


def test_status_3_of_another_command_goes_through_the_rules() -> None:
    assert classify("build", 3, AWS_IO_TIMEOUT).rule == "io_timeout"
    assert classify("build", 3, FMT_CHECK_OUTPUT).rule == "unrecognised_failure"


def test_fmt_with_an_hcl_error_goes_through_the_rules() -> None:
    assert classify("fmt", 1, HCL_STRUCTURE_ERROR).rule == "hcl_syntax"


def test_transient_error_wrapped_in_error_s_occurred_is_transient() -> None:
    result = classify("build", 1, GOOGLE_WRAPPED_INTERNAL_ERROR)
    assert (result.exit_code, result.klass, result.rule) == (2, "transient", "server_error")
    assert result.retryable is True


def test_a_failed_script_is_config_and_not_retried() -> None:
    result = classify("build", 1, SCRIPT_FAILED)
    assert (result.exit_code, result.klass, result.rule) == (1, "config", "provisioner_failed")
    assert result.retryable is False


def test_unrecognised_failure_is_config_and_not_retried() -> None:
    result = classify("build", 1, "Build 'qemu.x' errored: unexpected state 'pending'\n")
    assert (result.exit_code, result.klass, result.rule) == (1, "config", "unrecognised_failure")
    assert result.remediation
    assert result.retryable is False


def test_success_looking_text_with_nonzero_status_is_not_transient() -> None:
    result = classify("build", 1, SUCCESSFUL_BUILD_WITH_WARNING)
    assert result.klass != "transient"
    assert result.retryable is False
    # The var-file warning is not the "Undefined -var variable" error.
    assert result.rule == "unrecognised_failure"


@pytest.mark.parametrize(
    ("text", "not_rule", "rule"),
    [
        pytest.param(
            PROXMOX_500_WRONG_URL, "server_error", "unrecognised_failure", id="bare-500-is-not-5xx"
        ),
        pytest.param(
            AWS_CLIENT_INTERNAL_ERROR_KMS,
            "server_error",
            "unrecognised_failure",
            id="client-internalerror",
        ),
        pytest.param(
            AZURE_NO_DEADLINE_BUG,
            "deadline_exceeded",
            "unrecognised_failure",
            id="no-deadline-attached",
        ),
        pytest.param(
            AZURE_PLUGIN_CRASH_EOF, "api_eof", "unrecognised_failure", id="plugin-crash-eof"
        ),
        pytest.param(
            BUNDLED_PLUGINS_WARNING_THEN_SCRIPT_FAILED,
            "missing_plugins",
            "provisioner_failed",
            id="bundled-warning",
        ),
    ],
)
def test_lookalikes_are_not_claimed(text: str, not_rule: str, rule: str) -> None:
    result = classify("build", 1, text)
    assert result.rule != not_rule
    assert (result.klass, result.rule) == ("config", rule)


def test_line_number_429_is_not_http_429() -> None:
    assert classify("validate", 1, UNSUPPORTED_ARGUMENT_ON_LINE_429).rule == "unsupported_argument"


def test_iso_403_is_a_download_failure_not_a_security_stop() -> None:
    assert classify("build", 1, ISO_DOWNLOAD_PACKER_1_8_403).klass == "transient"


def test_api_403_ending_in_eof_is_security_not_transient() -> None:
    assert classify("build", 1, AZURE_STATUSCODE_403).klass == "security"


def test_every_rule_and_failure_class_has_a_remediation() -> None:
    for rule in RULES:
        assert rule.remediation.strip(), rule.name
        assert rule.exit_class in ExitClass.ALL
        assert rule.klass != "ok"
    failures = [
        classify("build", 1, AWS_UNAUTHORIZED_OPERATION),
        classify("build", 1, AWS_IO_TIMEOUT),
        classify("build", 1, UNSUPPORTED_ARGUMENT),
        classify("build", 1, SCRIPT_FAILED),
        classify("fmt", 3, FMT_CHECK_OUTPUT),
    ]
    assert {result.klass for result in failures} == {"security", "transient", "config"}
    for result in failures:
        assert result.remediation is not None
        assert result.remediation.strip()
        assert result.exit_code == ExitClass.named(result.klass).code
