output "vpc_id" {
  description = "ID of the VPC"
  value       = aws_vpc.this.id
}

output "private_subnet_ids" {
  description = "The three private subnets, one per availability zone (Redshift Serverless uses all three)"
  value       = aws_subnet.private[*].id
}

output "mwaa_subnet_ids" {
  description = "The two private subnets MWAA runs in (MWAA takes exactly two)"
  value       = slice(aws_subnet.private[*].id, 0, 2)
}

output "public_subnet_ids" {
  description = "The public subnets holding the NAT gateway(s)"
  value       = aws_subnet.public[*].id
}

output "availability_zones" {
  description = "The three availability zones the subnets are in"
  value       = local.azs
}

output "mwaa_security_group_id" {
  description = "Security group for the MWAA environment (self-referencing; HTTPS out; Redshift's port to the Redshift group)"
  value       = aws_security_group.mwaa.id
}

output "redshift_security_group_id" {
  description = "Security group for the Redshift Serverless workgroup (port 5439 from the MWAA group only)"
  value       = aws_security_group.redshift.id
}

output "nat_public_ips" {
  description = "Public IP addresses the private subnets leave through (to allow-list at a private package index, say)"
  value       = aws_eip.nat[*].public_ip
}

output "flow_log_group_name" {
  description = "CloudWatch Logs group holding the VPC's rejected-traffic flow logs"
  value       = aws_cloudwatch_log_group.flow_logs.name
}
