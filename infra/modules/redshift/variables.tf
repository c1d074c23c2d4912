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

  validation {
    condition     = alltrue([for id in var.subnet_ids : can(regex("^subnet-[0-9a-f]{8,17}$", id))])
    error_message = "every entry of subnet_ids must be a subnet id (subnet-…)."
  }
}

variable "security_group_ids" {
  description = "Security groups of the workgroup (port 5439 from MWAA only)"
  type        = list(string)

  validation {
    condition     = length(var.security_group_ids) >= 1 && alltrue([for id in var.security_group_ids : can(regex("^sg-[0-9a-f]{8,17}$", id))])
    error_message = "security_group_ids must name at least one security group by id (sg-…)."
  }
}

variable "database_name" {
  description = "Database dbt builds into (the DAG's Airflow Variable redshift_database_name)"
  type        = string
  default     = "dev"

  validation {
    condition     = can(regex("^[a-z_][a-z0-9_]{0,126}$", var.database_name))
    error_message = "database_name must be 1-127 lowercase letters, digits or underscores, not starting with a digit."
  }
}

variable "admin_username" {
  description = "Admin user of the namespace; its password is generated and kept in Secrets Manager by Redshift"
  type        = string
  default     = "admin"

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9_]{0,127}$", var.admin_username))
    error_message = "admin_username must start with a letter and hold at most 128 letters, digits or underscores."
  }
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

  validation {
    condition     = var.max_capacity == null ? true : var.max_capacity >= 8 && var.max_capacity % 8 == 0
    error_message = "max_capacity must be null or a multiple of 8 RPUs."
  }
}

variable "max_query_execution_time" {
  description = "Seconds after which Redshift cancels a query (a guard against runaway queries)"
  type        = number
  default     = 3600

  validation {
    condition     = var.max_query_execution_time >= 1 && var.max_query_execution_time <= 86399 && floor(var.max_query_execution_time) == var.max_query_execution_time
    error_message = "max_query_execution_time must be a whole number of seconds from 1 to 86399."
  }
}

variable "rpu_hours_per_day_limit" {
  description = "RPU-hours of compute per day before rpu_hours_limit_breach_action applies; null sets no limit"
  type        = number
  default     = 24

  validation {
    condition     = var.rpu_hours_per_day_limit == null ? true : var.rpu_hours_per_day_limit >= 1 && floor(var.rpu_hours_per_day_limit) == var.rpu_hours_per_day_limit
    error_message = "rpu_hours_per_day_limit must be null or a whole number of RPU-hours, at least 1."
  }
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

  validation {
    condition     = var.data_bucket_arn == null ? true : can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.data_bucket_arn))
    error_message = "data_bucket_arn must be null or an S3 bucket ARN such as arn:aws:s3:::my-bucket."
  }
}

variable "data_bucket_kms_key_arn" {
  description = "ARN of the KMS key encrypting data_bucket_arn, if it uses SSE-KMS; null for none"
  type        = string
  default     = null

  validation {
    condition     = var.data_bucket_kms_key_arn == null ? true : can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:(key|alias)/[A-Za-z0-9/_-]+$", var.data_bucket_kms_key_arn))
    error_message = "data_bucket_kms_key_arn must be null or a KMS key ARN."
  }
}

variable "kms_key_deletion_window_in_days" {
  description = "Days between `terraform destroy` and the deletion of the namespace's KMS key (7-30)"
  type        = number
  default     = 7

  validation {
    condition     = var.kms_key_deletion_window_in_days >= 7 && var.kms_key_deletion_window_in_days <= 30 && floor(var.kms_key_deletion_window_in_days) == var.kms_key_deletion_window_in_days
    error_message = "kms_key_deletion_window_in_days must be a whole number of days from 7 to 30 (KMS' own bounds)."
  }
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
