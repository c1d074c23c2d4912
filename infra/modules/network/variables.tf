variable "name" {
  description = "Name prefix of every resource (VPC, subnets, security groups, flow logs)"
  type        = string
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
}

variable "tags" {
  description = "Tags added to every resource"
  type        = map(string)
  default     = {}
}
