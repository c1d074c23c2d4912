# The whole production platform in one apply: a VPC, the MWAA bucket, Redshift Serverless and the MWAA
# environment, wired together. README.md beside this file and "Deploy to AWS" in the repository's
# README walk through it.

provider "aws" {
  region = var.region

  default_tags {
    tags = merge({ Project = "tickit-platform", ManagedBy = "terraform" }, var.tags)
  }
}

data "aws_region" "current" {}

locals {
  # The Airflow Variables the DAG reads (tickit_runtime.config.REDSHIFT_ENV_TEMPLATES, and
  # the alerts' topic: tickit_runtime.alerts.settings).
  # On Redshift Serverless dbt's IAM login connects as the execution role's own database user,
  # IAMR:<role name>; redshift_cluster_identifier stays unset (it names a provisioned cluster).
  airflow_variables = {
    redshift_host              = module.redshift.endpoint_address
    redshift_database_name     = module.redshift.database_name
    redshift_db_user           = "IAMR:${module.mwaa.execution_role_name}"
    redshift_region            = data.aws_region.current.region
    redshift_workgroup_name    = module.redshift.workgroup_name
    tickit_source_iam_role_arn = module.redshift.copy_role_arn
    tickit_source_s3_region    = var.tickit_source_s3_region
    tickit_source_manifest_uri = "s3://${module.storage.bucket_name}/raw-manifests/"
    tickit_alert_sns_topic_arn = module.alerts.topic_arn
  }
}

module "network" {
  source = "../../modules/network"

  name                   = var.name
  cidr_block             = var.vpc_cidr_block
  availability_zones     = var.availability_zones
  one_nat_gateway_per_az = var.one_nat_gateway_per_az
}

module "storage" {
  source = "../../modules/storage"

  name          = var.name
  force_destroy = var.bucket_force_destroy
}

module "redshift" {
  source = "../../modules/redshift"

  name                    = var.name
  subnet_ids              = module.network.private_subnet_ids
  security_group_ids      = [module.network.redshift_security_group_id]
  base_capacity           = var.redshift_base_capacity
  rpu_hours_per_day_limit = var.redshift_rpu_hours_per_day_limit
  data_bucket_arn         = var.data_bucket_arn
  # COPY reads the manifests `tickit deploy push` uploads to the MWAA bucket (raw-manifests/ only).
  manifest_bucket_arn         = module.storage.bucket_arn
  manifest_bucket_kms_key_arn = module.storage.kms_key_arn
}

module "alerts" {
  source = "../../modules/alerts"

  name            = var.name
  email_addresses = var.alert_email_addresses
}

module "mwaa" {
  source = "../../modules/mwaa"

  name              = var.name
  airflow_version   = var.airflow_version
  environment_class = var.environment_class
  max_workers       = var.max_workers

  source_bucket_name        = module.storage.bucket_name
  source_bucket_arn         = module.storage.bucket_arn
  source_bucket_kms_key_arn = module.storage.kms_key_arn

  subnet_ids            = module.network.mwaa_subnet_ids
  security_group_ids    = [module.network.mwaa_security_group_id]
  webserver_access_mode = var.webserver_access_mode

  redshift_workgroup_arns = [module.redshift.workgroup_arn]
  alert_topic_arns        = [module.alerts.topic_arn]
  alert_kms_key_arns      = [module.alerts.kms_key_arn]
  airflow_variables       = { for key, value in local.airflow_variables : key => value if var.store_airflow_variables }
  schema_prefix           = var.schema_prefix
}
