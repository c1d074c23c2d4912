output "name" {
  description = "Name of the MWAA environment (`tickit deploy push/trigger --environment`)"
  value       = aws_mwaa_environment.this.name
}

output "arn" {
  description = "ARN of the MWAA environment"
  value       = aws_mwaa_environment.this.arn
}

output "webserver_url" {
  description = "Host name of the Airflow UI (private by default: reachable from inside the VPC)"
  value       = aws_mwaa_environment.this.webserver_url
}

output "execution_role_arn" {
  description = "ARN of the environment's execution role"
  value       = aws_iam_role.this.arn
}

output "execution_role_name" {
  description = "Name of the execution role; on Redshift Serverless dbt connects as the database user IAMR:<this name>"
  value       = aws_iam_role.this.name
}

output "log_group_arns" {
  description = "CloudWatch Logs groups of the environment, by kind (task logs hold each dbt model's output)"
  value = {
    dag_processing = aws_mwaa_environment.this.logging_configuration[0].dag_processing_logs[0].cloud_watch_log_group_arn
    scheduler      = aws_mwaa_environment.this.logging_configuration[0].scheduler_logs[0].cloud_watch_log_group_arn
    task           = aws_mwaa_environment.this.logging_configuration[0].task_logs[0].cloud_watch_log_group_arn
    webserver      = aws_mwaa_environment.this.logging_configuration[0].webserver_logs[0].cloud_watch_log_group_arn
    worker         = aws_mwaa_environment.this.logging_configuration[0].worker_logs[0].cloud_watch_log_group_arn
  }
}

output "airflow_variables_secret_prefix" {
  description = "Secrets Manager prefix the environment reads Airflow Variables from (null when the backend is off)"
  value       = local.use_secrets_backend ? local.variables_prefix : null
}
