output "namespace_name" {
  description = "Name of the Redshift Serverless namespace"
  value       = aws_redshiftserverless_namespace.this.namespace_name
}

output "workgroup_name" {
  description = "Name of the Redshift Serverless workgroup (Airflow Variable redshift_workgroup_name)"
  value       = aws_redshiftserverless_workgroup.this.workgroup_name
}

output "workgroup_arn" {
  description = "ARN of the workgroup (the resource of redshift-serverless:GetCredentials)"
  value       = aws_redshiftserverless_workgroup.this.arn
}

output "endpoint_address" {
  description = "Host name of the workgroup's endpoint (Airflow Variable redshift_host)"
  value       = aws_redshiftserverless_workgroup.this.endpoint[0].address
}

output "endpoint_port" {
  description = "Port of the workgroup's endpoint"
  value       = aws_redshiftserverless_workgroup.this.endpoint[0].port
}

output "database_name" {
  description = "Database dbt builds into (Airflow Variable redshift_database_name)"
  value       = aws_redshiftserverless_namespace.this.db_name
}

output "admin_username" {
  description = "Admin user of the namespace"
  value       = var.admin_username
}

output "admin_password_secret_arn" {
  description = "Secrets Manager secret holding the admin user's generated password (for one-off administration, never for dbt)"
  value       = aws_redshiftserverless_namespace.this.admin_password_secret_arn
}

output "copy_role_arn" {
  description = "IAM role COPY uses to read the tickit files (Airflow Variable tickit_source_iam_role_arn)"
  value       = aws_iam_role.copy.arn
}

output "kms_key_arn" {
  description = "ARN of the KMS key encrypting the namespace and its admin secret"
  value       = aws_kms_key.this.arn
}
