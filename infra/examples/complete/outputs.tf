output "region" {
  description = "Region everything was created in (`--region` of the tickit deploy commands)"
  value       = data.aws_region.current.region
}

output "bucket_name" {
  description = "The MWAA bucket (`tickit deploy push --bucket`)"
  value       = module.storage.bucket_name
}

output "mwaa_environment_name" {
  description = "The MWAA environment (`tickit deploy push/trigger --environment`)"
  value       = module.mwaa.name
}

output "mwaa_webserver_url" {
  description = "Host name of the Airflow UI; open it through `aws mwaa create-web-login-token` or the MWAA console"
  value       = module.mwaa.webserver_url
}

output "mwaa_log_group_arns" {
  description = "CloudWatch Logs groups of the environment by kind; dbt's output is in the task logs"
  value       = module.mwaa.log_group_arns
}

output "airflow_variables" {
  description = "The DAG's Airflow Variables and their values (already in Secrets Manager when store_airflow_variables is true); `terraform output -json airflow_variables > variables.json` gives a file the Airflow UI imports"
  value       = local.airflow_variables
}

output "airflow_variables_secret_prefix" {
  description = "Secrets Manager prefix MWAA reads the Airflow Variables from (null when store_airflow_variables is false)"
  value       = module.mwaa.airflow_variables_secret_prefix
}

output "dbt_environment" {
  description = "The environment variables dbt receives on MWAA, as the DAG renders them from the Airflow Variables"
  value = {
    DBT_REDSHIFT_HOST           = local.airflow_variables.redshift_host
    DBT_REDSHIFT_PORT           = tostring(module.redshift.endpoint_port)
    DBT_REDSHIFT_DBNAME         = local.airflow_variables.redshift_database_name
    DBT_REDSHIFT_USER           = local.airflow_variables.redshift_db_user
    DBT_REDSHIFT_SCHEMA         = "tickit"
    DBT_REDSHIFT_REGION         = local.airflow_variables.redshift_region
    DBT_REDSHIFT_CLUSTER_ID     = ""
    DBT_REDSHIFT_WORKGROUP_NAME = local.airflow_variables.redshift_workgroup_name
    DBT_TICKIT_S3_IAM_ROLE_ARN  = local.airflow_variables.tickit_source_iam_role_arn
    DBT_TICKIT_S3_REGION        = local.airflow_variables.tickit_source_s3_region
    DBT_TICKIT_S3_URI           = "s3://redshift-downloads/tickit/"
    TICKIT_SCHEMA_PREFIX        = var.schema_prefix
  }
}

output "alerts_topic_arn" {
  description = "SNS topic of the DAG's failure alerts; subscribe more endpoints to it (chat, a queue) as needed"
  value       = module.alerts.topic_arn
}

output "redshift_workgroup_name" {
  description = "The Redshift Serverless workgroup"
  value       = module.redshift.workgroup_name
}

output "redshift_admin_secret_arn" {
  description = "Secrets Manager secret with the Redshift admin password that Redshift generated (for the one-time grant below and for administration)"
  value       = module.redshift.admin_password_secret_arn
}

output "redshift_grant_command" {
  description = "Run once after apply: creates dbt's database user (the MWAA execution role's) and lets it create the layer schemas"
  value = join(" ", [
    "aws redshift-data batch-execute-statement",
    "--region ${data.aws_region.current.region}",
    "--workgroup-name ${module.redshift.workgroup_name}",
    "--database ${module.redshift.database_name}",
    "--secret-arn ${module.redshift.admin_password_secret_arn}",
    "--sqls",
    "'CREATE USER \"IAMR:${module.mwaa.execution_role_name}\" PASSWORD DISABLE'",
    "'GRANT CREATE ON DATABASE ${module.redshift.database_name} TO \"IAMR:${module.mwaa.execution_role_name}\"'",
  ])
}

output "deploy_commands" {
  description = "The tickit commands that ship the DAG to this environment and run it"
  value = {
    push    = "tickit deploy push --bucket ${module.storage.bucket_name} --environment ${module.mwaa.name} --region ${data.aws_region.current.region}"
    trigger = "tickit deploy trigger --environment ${module.mwaa.name} --region ${data.aws_region.current.region}"
    login   = "aws mwaa create-web-login-token --name ${module.mwaa.name} --region ${data.aws_region.current.region}"
  }
}
