variable "name" {
  description = "Name of the platform; the bucket is named airflow-<name>-<random suffix> (MWAA requires the airflow- prefix)"
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{0,30}$", var.name))
    error_message = "name must be 1-31 lowercase letters, digits or hyphens (it becomes part of an S3 bucket name)."
  }
}

variable "force_destroy" {
  description = "Let `terraform destroy` delete the bucket while it still holds objects (all their versions included)"
  type        = bool
  default     = false
}

variable "noncurrent_version_expiration_days" {
  description = "Days after which a replaced object version is deleted (the ten newest replaced versions are always kept)"
  type        = number
  default     = 90

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1 && floor(var.noncurrent_version_expiration_days) == var.noncurrent_version_expiration_days
    error_message = "noncurrent_version_expiration_days must be a whole number of days, at least 1."
  }
}

variable "access_log_bucket" {
  description = "Name of an existing bucket to receive S3 server access logs for the MWAA bucket; null turns access logging off"
  type        = string
  default     = null

  validation {
    condition     = var.access_log_bucket == null ? true : can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.access_log_bucket))
    error_message = "access_log_bucket must be null or an S3 bucket name (3-63 lowercase letters, digits, dots, hyphens), not an ARN."
  }
}

variable "kms_key_deletion_window_in_days" {
  description = "Days between `terraform destroy` and the deletion of the bucket's KMS key (7-30)"
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
