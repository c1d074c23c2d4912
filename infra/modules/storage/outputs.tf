output "bucket_name" {
  description = "Name of the MWAA bucket (`tickit deploy push --bucket`)"
  value       = aws_s3_bucket.this.id
}

output "bucket_arn" {
  description = "ARN of the MWAA bucket (the environment's source_bucket_arn)"
  value       = aws_s3_bucket.this.arn
}

output "kms_key_arn" {
  description = "ARN of the KMS key encrypting the bucket; whoever reads or writes objects needs kms:Decrypt / kms:GenerateDataKey on it"
  value       = aws_kms_key.this.arn
}
