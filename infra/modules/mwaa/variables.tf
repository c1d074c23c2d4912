variable "name" {
  description = "Name of the MWAA environment (`tickit deploy push/trigger --environment`)"
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z][0-9a-zA-Z_-]{0,47}$", var.name))
    error_message = "name must start with a letter and hold at most 48 letters, digits, hyphens or underscores (it also names the execution role)."
  }
}

variable "airflow_version" {
  description = "Airflow version of the environment: 3.3.1 (MWAA's newest, rehearsed) or 3.0.6 (rehearsed too). Changing it on an existing environment is MWAA's in-place upgrade: follow the README's upgrade steps so requirements.txt, startup.sh and plugins.zip change with it."
  type        = string
  default     = "3.3.1"

  validation {
    condition     = can(regex("^3\\.[0-9]+\\.[0-9]+$", var.airflow_version))
    error_message = "airflow_version must be an Airflow 3 release such as 3.3.1: the DAG uses Airflow 3's API."
  }
}

variable "environment_class" {
  description = "MWAA environment class: mw1.small, mw1.medium, mw1.large, mw1.xlarge or mw1.2xlarge"
  type        = string
  default     = "mw1.small"

  validation {
    condition     = contains(["mw1.small", "mw1.medium", "mw1.large", "mw1.xlarge", "mw1.2xlarge"], var.environment_class)
    error_message = "environment_class must be mw1.small, mw1.medium, mw1.large, mw1.xlarge or mw1.2xlarge."
  }
}

variable "min_workers" {
  description = "Workers always running"
  type        = number
  default     = 1

  validation {
    condition     = var.min_workers >= 1 && floor(var.min_workers) == var.min_workers
    error_message = "min_workers must be a whole number, at least 1."
  }
}

variable "max_workers" {
  description = "Most workers MWAA scales out to under load"
  type        = number
  default     = 2

  validation {
    condition     = var.max_workers >= 1 && floor(var.max_workers) == var.max_workers
    error_message = "max_workers must be a whole number, at least 1 (and at least min_workers)."
  }
}

variable "schedulers" {
  description = "Number of schedulers (2 is the minimum MWAA allows for Airflow 2.2 and later)"
  type        = number
  default     = 2

  validation {
    condition     = var.schedulers >= 2 && var.schedulers <= 5 && floor(var.schedulers) == var.schedulers
    error_message = "schedulers must be 2 to 5 (MWAA's bounds for Airflow 2.2 and later)."
  }
}

variable "source_bucket_name" {
  description = "Name of the versioned S3 bucket holding dags/, requirements.txt and startup.sh"
  type        = string

  validation {
    condition     = can(regex("^airflow-[a-z0-9.-]{1,55}$", var.source_bucket_name))
    error_message = "source_bucket_name must be a bucket name starting with airflow- (MWAA requires the prefix)."
  }
}

variable "source_bucket_arn" {
  description = "ARN of the same bucket"
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:s3:::airflow-[a-z0-9.-]{1,55}$", var.source_bucket_arn))
    error_message = "source_bucket_arn must be the ARN of a bucket whose name starts with airflow-, such as arn:aws:s3:::airflow-tickit-abc123."
  }
}

variable "source_bucket_kms_key_arn" {
  description = "ARN of the KMS key encrypting the bucket; the execution role may decrypt with it, through S3 only"
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:(key|alias)/[A-Za-z0-9/_-]+$", var.source_bucket_kms_key_arn))
    error_message = "source_bucket_kms_key_arn must be a KMS key ARN."
  }
}

variable "create_placeholder_files" {
  description = "Write placeholder requirements.txt, startup.sh and dags/.airflowignore so the environment can be created before the first `tickit deploy push`; never overwritten afterwards"
  type        = bool
  default     = true
}

variable "requirements_s3_object_version" {
  description = "S3 object version of requirements.txt at creation; null takes the latest. Afterwards `tickit deploy push` sets it and Terraform ignores it."
  type        = string
  default     = null
}

variable "plugins_s3_object_version" {
  description = "S3 object version of plugins.zip (the dbt wheels) at creation; null takes the latest. Afterwards `tickit deploy push` sets it and Terraform ignores it."
  type        = string
  default     = null
}

variable "startup_script_s3_object_version" {
  description = "S3 object version of startup.sh at creation; null takes the latest. Afterwards `tickit deploy push` sets it and Terraform ignores it."
  type        = string
  default     = null
}

variable "subnet_ids" {
  description = "Exactly two private subnets in different availability zones, with a route to a NAT gateway"
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) == 2
    error_message = "MWAA takes exactly two private subnets."
  }

  validation {
    condition     = alltrue([for id in var.subnet_ids : can(regex("^subnet-[0-9a-f]{8,17}$", id))])
    error_message = "every entry of subnet_ids must be a subnet id (subnet-…)."
  }
}

variable "security_group_ids" {
  description = "Security groups of the environment; one must allow all traffic from itself"
  type        = list(string)

  validation {
    condition     = length(var.security_group_ids) >= 1 && length(var.security_group_ids) <= 5 && alltrue([for id in var.security_group_ids : can(regex("^sg-[0-9a-f]{8,17}$", id))])
    error_message = "security_group_ids must name one to five security groups by id (sg-…)."
  }
}

variable "webserver_access_mode" {
  description = "PRIVATE_ONLY: the Airflow UI is reachable only from inside the VPC (VPN, bastion). PUBLIC_ONLY: from the internet, still behind IAM login."
  type        = string
  default     = "PRIVATE_ONLY"

  validation {
    condition     = contains(["PRIVATE_ONLY", "PUBLIC_ONLY"], var.webserver_access_mode)
    error_message = "webserver_access_mode must be PRIVATE_ONLY or PUBLIC_ONLY."
  }
}

variable "weekly_maintenance_window_start" {
  description = "Start of MWAA's weekly maintenance window, DAY:HH:MM in UTC (such as SUN:03:00); null lets MWAA choose"
  type        = string
  default     = null

  validation {
    condition     = var.weekly_maintenance_window_start == null ? true : can(regex("^(MON|TUE|WED|THU|FRI|SAT|SUN):([01][0-9]|2[0-3]):(00|30)$", var.weekly_maintenance_window_start))
    error_message = "weekly_maintenance_window_start must be null or DAY:HH:MM in UTC on the hour or half hour, such as SUN:03:00."
  }
}

variable "kms_key_arn" {
  description = "Customer managed KMS key for the environment's data; null uses an AWS-owned key"
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null ? true : can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:(key|alias)/[A-Za-z0-9/_-]+$", var.kms_key_arn))
    error_message = "kms_key_arn must be null or a KMS key ARN."
  }
}

variable "log_level" {
  description = "CloudWatch log level of the DAG processor, scheduler, web server and workers: CRITICAL, ERROR, WARNING, INFO or DEBUG"
  type        = string
  default     = "WARNING"

  validation {
    condition     = contains(["CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG"], var.log_level)
    error_message = "log_level must be CRITICAL, ERROR, WARNING, INFO or DEBUG."
  }
}

variable "task_log_level" {
  description = "CloudWatch log level of task logs (dbt's output is in them): CRITICAL, ERROR, WARNING, INFO or DEBUG"
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG"], var.task_log_level)
    error_message = "task_log_level must be CRITICAL, ERROR, WARNING, INFO or DEBUG."
  }
}

variable "redshift_workgroup_arns" {
  description = "Redshift Serverless workgroups dbt may get IAM credentials for (redshift-serverless:GetCredentials)"
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for x in var.redshift_workgroup_arns : can(regex("^arn:aws[a-z-]*:redshift-serverless:[a-z0-9-]+:[0-9]{12}:workgroup/[0-9a-f-]+$", x))])
    error_message = "every entry of redshift_workgroup_arns must be a Redshift Serverless workgroup ARN (…:workgroup/<id>)."
  }
}

variable "redshift_cluster_credentials" {
  description = "Provisioned Redshift clusters dbt may get IAM credentials for (redshift:GetClusterCredentials), each with the database user and database allowed"
  type = list(object({
    cluster_identifier = string
    db_user            = string
    db_name            = string
  }))
  default = []

  validation {
    condition     = alltrue([for c in var.redshift_cluster_credentials : can(regex("^[a-z][a-z0-9-]{0,62}$", c.cluster_identifier)) && c.db_user != "" && c.db_name != ""])
    error_message = "every entry of redshift_cluster_credentials needs a cluster identifier (lowercase letters, digits, hyphens), a db_user and a db_name."
  }
}

variable "alert_topic_arns" {
  description = "SNS topics the DAG's failure alerts are published to (sns:Publish on these only); the alerts module's topic_arn"
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for x in var.alert_topic_arns : can(regex("^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}$", x))])
    error_message = "every entry of alert_topic_arns must be an SNS topic ARN."
  }
}

variable "alert_kms_key_arns" {
  description = "KMS keys of those topics, which the execution role may use through SNS only; the alerts module's kms_key_arn"
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for x in var.alert_kms_key_arns : can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:(key|alias)/[A-Za-z0-9/_-]+$", x))])
    error_message = "every entry of alert_kms_key_arns must be a KMS key ARN."
  }
}

variable "airflow_variables" {
  description = "Airflow Variables for the DAG, stored in Secrets Manager under airflow/<name>/variables/ and read by Airflow's Secrets Manager backend. Empty: no backend, set Variables in the UI."
  type        = map(string)
  default     = {}
}

variable "airflow_configuration_options" {
  description = "Extra Airflow configuration options (section.key = value); they win over this module's defaults"
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for k in keys(var.airflow_configuration_options) : can(regex("^[a-z][a-z0-9_]*\\.[a-z][a-z0-9_]*$", k))])
    error_message = "airflow_configuration_options keys must be section.key, such as core.default_task_retries."
  }
}

variable "runs_prefix" {
  description = "Prefix of the source bucket under which every DAG run keeps its dbt artifacts (runs/<run_id>/); the execution role may write there only"
  type        = string
  default     = "runs"

  validation {
    condition     = length(trim(var.runs_prefix, "/")) > 0 && trim(var.runs_prefix, "/") != "dags"
    error_message = "runs_prefix must name a folder of its own, not the bucket's root or dags/."
  }
}

variable "keep_runs" {
  description = "How many DAG runs the run history keeps under runs_prefix; older run folders are deleted"
  type        = number
  default     = 20

  validation {
    condition     = var.keep_runs >= 1
    error_message = "keep_runs must be at least 1."
  }
}

variable "schema_prefix" {
  description = "Starts the name of every schema the DAG writes in the warehouse (<prefix>_raw, <prefix>_bronze, …, <prefix>_tickit_audit), so that two deployments share one Redshift database without touching each other's tables; empty for the plain names (raw, bronze, silver, gold). Handed to the DAG as the Airflow option tickit.schema_prefix"
  type        = string
  default     = ""

  validation {
    # The same rule as the DAG's (tickit_runtime/schemas.py): a plain lower-case name.
    condition     = can(regex("^([a-z][a-z0-9_]{0,39})?$", var.schema_prefix))
    error_message = "schema_prefix must be empty or a lower-case letter followed by at most 39 lower-case letters, digits or underscores."
  }
}

variable "tags" {
  description = "Tags added to every resource"
  type        = map(string)
  default     = {}
}
