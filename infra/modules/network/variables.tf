variable "name" {
  description = "Name prefix of every resource (VPC, subnets, security groups, flow logs)"
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9][a-zA-Z0-9-]{0,26}$", var.name))
    error_message = "name must be 1-27 letters, digits or hyphens, starting with a letter or digit (it prefixes the flow logs' IAM role, whose name prefix AWS caps at 38 characters)."
  }
}

variable "cidr_block" {
  description = "IPv4 range of the VPC; a /16 to /20. Private subnets take its first three sixteenths, public ones /24s from its upper half."
  type        = string
  default     = "10.40.0.0/16"

  validation {
    condition     = can(cidrhost(var.cidr_block, 0)) && tonumber(split("/", var.cidr_block)[1]) <= 20
    error_message = "cidr_block must be an IPv4 CIDR of size /20 or larger, such as 10.40.0.0/16."
  }
}

variable "availability_zones" {
  description = "Exactly three availability zone names for the subnets (Redshift Serverless needs three); null takes the region's first three"
  type        = list(string)
  default     = null

  validation {
    condition     = var.availability_zones == null ? true : length(var.availability_zones) == 3
    error_message = "availability_zones must name exactly three zones, such as [\"eu-central-1a\", \"eu-central-1b\", \"eu-central-1c\"]."
  }

  validation {
    condition     = var.availability_zones == null ? true : alltrue([for z in var.availability_zones : can(regex("^[a-z]{2}(-[a-z]+)+-[0-9][a-z]$", z))]) && length(distinct(var.availability_zones)) == length(var.availability_zones)
    error_message = "availability_zones must be distinct zone names such as eu-central-1a."
  }
}

variable "one_nat_gateway_per_az" {
  description = "One NAT gateway per availability zone (survives the loss of a zone, costs three times as much) instead of a single one"
  type        = bool
  default     = false
}

variable "flow_log_retention_days" {
  description = "Days to keep the VPC flow logs (rejected traffic) in CloudWatch Logs"
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.flow_log_retention_days)
    error_message = "flow_log_retention_days must be one of CloudWatch Logs' retention periods: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653."
  }
}

variable "tags" {
  description = "Tags added to every resource"
  type        = map(string)
  default     = {}
}
