variable "name" {
  description = "Name of the platform; the topic is named <name>-alerts"
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9_-]{1,200}$", var.name))
    error_message = "name must be 1-200 letters, digits, hyphens or underscores (it names the SNS topic and its KMS alias)."
  }
}

variable "email_addresses" {
  description = "Addresses subscribed to the topic by email (each confirms once, from the mail SNS sends); empty for none"
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for x in var.email_addresses : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", x))])
    error_message = "every entry of email_addresses must be an email address."
  }
}

variable "kms_key_deletion_window_in_days" {
  description = "Days between `terraform destroy` and the deletion of the topic's KMS key (7-30)"
  type        = number
  default     = 7

  validation {
    condition     = var.kms_key_deletion_window_in_days >= 7 && var.kms_key_deletion_window_in_days <= 30 && floor(var.kms_key_deletion_window_in_days) == var.kms_key_deletion_window_in_days
    error_message = "kms_key_deletion_window_in_days must be a whole number of days from 7 to 30 (KMS' own bounds)."
  }
}

variable "tags" {
  description = "Tags added to every resource"
  type        = map(string)
  default     = {}
}
