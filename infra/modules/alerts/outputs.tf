output "topic_arn" {
  description = "ARN of the alerts topic: the Airflow Variable tickit_alert_sns_topic_arn, and the MWAA module's alert_topic_arns"
  value       = aws_sns_topic.this.arn
}

output "kms_key_arn" {
  description = "ARN of the KMS key encrypting the topic; a publisher needs kms:GenerateDataKey and kms:Decrypt on it (the MWAA module's alert_kms_key_arns)"
  value       = aws_kms_key.this.arn
}
