variable "name" {
  description = "Name of the Redshift Serverless namespace and workgroup (3-64 lowercase letters, digits, hyphens)"
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9-]{3,64}$", var.name))
    error_message = "name must be 3-64 lowercase letters, digits or hyphens."
  }
}

variable "subnet_ids" {
  description = "Private subnets for the workgroup, in three different availability zones (Redshift Serverless requires three)"
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 3
    error_message = "Redshift Serverless needs subnets in at least three availability zones."
  }
}

variable "security_group_ids" {
  description = "Security groups of the workgroup (port 5439 from MWAA only)"
  type        = list(string)
}

variable "database_name" {
  description = "Database dbt builds into (the DAG's Airflow Variable redshift_database_name)"
  type        = string
  default     = "dev"
}

variable "admin_username" {
  description = "Admin user of the namespace; its password is generated and kept in Secrets Manager by Redshift"
  type        = string
  default     = "admin"
}

variable "base_capacity" {
  description = "Base Redshift Processing Units of the workgroup (8-512 in steps of 8; 8 is the cheapest and enough for tickit)"
  type        = number
  default     = 8

  validation {
    condition     = var.base_capacity >= 8 && var.base_capacity <= 512 && var.base_capacity % 8 == 0
    error_message = "base_capacity must be a multiple of 8 between 8 and 512."
  }
}

variable "max_capacity" {
  description = "Most RPUs the workgroup may scale to; null leaves Redshift's default"
  type        = number
  default     = null
}

variable "max_query_execution_time" {
  description = "Seconds after which Redshift cancels a query (a guard against runaway queries)"
  type        = number
  default     = 3600
}

variable "rpu_hours_per_day_limit" {
  description = "RPU-hours of compute per day before rpu_hours_limit_breach_action applies; null sets no limit"
  type        = number
  default     = 24
}

variable "rpu_hours_limit_breach_action" {
  description = "What happens when the daily RPU-hour limit is reached: log, emit-metric or deactivate (queries refused until the next day)"
  type        = string
  default     = "deactivate"

  validation {
    condition     = contains(["log", "emit-metric", "deactivate"], var.rpu_hours_limit_breach_action)
    error_message = "rpu_hours_limit_breach_action must be log, emit-metric or deactivate."
  }
}

variable "data_bucket_arn" {
  description = "ARN of your own bucket holding the tickit files, for COPY to read besides the public redshift-downloads bucket; null for none"
  type        = string
  default     = null
}

variable "data_bucket_kms_key_arn" {
  description = "ARN of the KMS key encrypting data_bucket_arn, if it uses SSE-KMS; null for none"
  type        = string
  default     = null
}

variable "kms_key_deletion_window_in_days" {
  description = "Days between `terraform destroy` and the deletion of the namespace's KMS key (7-30)"
  type        = number
  default     = 7
}

variable "manifest_bucket_arn" {
  description = "ARN of the bucket holding the COPY manifests under raw-manifests/ (the MWAA bucket, where `tickit deploy push` uploads them); null for none"
  type        = string
  default     = null
}

variable "manifest_bucket_kms_key_arn" {
  description = "ARN of the KMS key encrypting manifest_bucket_arn, if it uses SSE-KMS; null for none"
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags added to every resource"
  type        = map(string)
  default     = {}
}
