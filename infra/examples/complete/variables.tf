variable "region" {
  description = "AWS region to deploy into (MWAA and Redshift Serverless must both be offered there)"
  type        = string
  default     = "eu-central-1"
}

variable "name" {
  description = "Name of the platform: the MWAA environment, the Redshift namespace and workgroup, and the prefix of everything else"
  type        = string
  default     = "tickit"
}

variable "vpc_cidr_block" {
  description = "IPv4 range of the new VPC"
  type        = string
  default     = "10.40.0.0/16"
}

variable "availability_zones" {
  description = "Three availability zones for the subnets; null takes the region's first three"
  type        = list(string)
  default     = null
}

variable "one_nat_gateway_per_az" {
  description = "One NAT gateway per availability zone instead of one in total (more resilient, three times the NAT cost)"
  type        = bool
  default     = false
}

variable "airflow_version" {
  description = "MWAA Airflow version: 3.3.1 (default) or 3.0.6; see the README before changing it on an existing environment"
  type        = string
  default     = "3.3.1"
}

variable "environment_class" {
  description = "MWAA environment class (mw1.small is enough for tickit)"
  type        = string
  default     = "mw1.small"
}

variable "max_workers" {
  description = "Most MWAA workers under load"
  type        = number
  default     = 2
}

variable "webserver_access_mode" {
  description = "PRIVATE_ONLY (the Airflow UI only from inside the VPC) or PUBLIC_ONLY (from the internet, behind IAM login)"
  type        = string
  default     = "PRIVATE_ONLY"
}

variable "redshift_base_capacity" {
  description = "Base RPUs of the Redshift Serverless workgroup (multiples of 8; 8 is the cheapest)"
  type        = number
  default     = 8
}

variable "redshift_rpu_hours_per_day_limit" {
  description = "RPU-hours per day after which the workgroup refuses queries until the next day; null for no limit"
  type        = number
  default     = 24
}

variable "data_bucket_arn" {
  description = "ARN of your own bucket with the tickit files for COPY to read (besides the public redshift-downloads bucket); null for none"
  type        = string
  default     = null
}

variable "tickit_source_s3_region" {
  description = "Region of the bucket the tickit files are copied from (the public redshift-downloads bucket is in us-east-1)"
  type        = string
  default     = "us-east-1"
}

variable "alert_email_addresses" {
  description = "Addresses that get the DAG's failure alerts by email through the SNS topic (each confirms a subscription mail once); empty for none"
  type        = list(string)
  default     = []
}

variable "store_airflow_variables" {
  description = "Store the DAG's Airflow Variables in Secrets Manager, where MWAA reads them; false leaves them to be set in the Airflow UI from the airflow_variables output"
  type        = bool
  default     = true
}

variable "bucket_force_destroy" {
  description = "Let `terraform destroy` empty and delete the MWAA bucket (it holds only what `tickit deploy push` uploads, rebuilt from git at will)"
  type        = bool
  default     = true
}

variable "schema_prefix" {
  description = "Starts the name of every schema the DAG writes in Redshift (<prefix>_raw, …), for a second deployment of the project on the same database; empty for the plain names raw, bronze, silver, gold"
  type        = string
  default     = ""
}

variable "tags" {
  description = "Tags added to every resource, besides Project and ManagedBy"
  type        = map(string)
  default     = {}
}
