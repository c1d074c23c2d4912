variable "name" {
  description = "Name of the platform; the topic is named <name>-alerts"
  type        = string
}

variable "email_addresses" {
  description = "Addresses subscribed to the topic by email (each confirms once, from the mail SNS sends); empty for none"
  type        = list(string)
  default     = []
}

variable "kms_key_deletion_window_in_days" {
  description = "Days between `terraform destroy` and the deletion of the topic's KMS key (7-30)"
  type        = number
  default     = 7
}

variable "tags" {
  description = "Tags added to every resource"
  type        = map(string)
  default     = {}
}
