data "aws_availability_zones" "available" {
  # checkov:skip=CKV_AWS_394: only the first three zone names (sorted) are used, so a zone AWS adds later changes nothing; var.availability_zones pins them explicitly
  state = "available"
}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

locals {
  # Redshift Serverless needs subnets in three availability zones; MWAA takes the first two.
  azs = var.availability_zones != null ? var.availability_zones : slice(sort(data.aws_availability_zones.available.names), 0, 3)
  # Private subnets: /20 each from the start of the VPC; public subnets: /24 each from its upper half.
  private_cidrs  = [for i in range(3) : cidrsubnet(var.cidr_block, 4, i)]
  public_cidrs   = [for i in range(3) : cidrsubnet(var.cidr_block, 8, 128 + i)]
  nat_gateways   = var.one_nat_gateway_per_az ? 3 : 1
  log_group_name = "/aws/vpc-flow-logs/${var.name}"
}

resource "aws_vpc" "this" {
  cidr_block           = var.cidr_block
  enable_dns_support   = true
  enable_dns_hostnames = true # MWAA's and Redshift's private endpoints are reached by DNS name

  tags = merge(var.tags, { Name = var.name })
}

# The default security group of a new VPC allows all traffic between its members; nothing here uses
# it, so it is emptied rather than left open.
resource "aws_default_security_group" "this" {
  vpc_id = aws_vpc.this.id

  tags = merge(var.tags, { Name = "${var.name}-default-deny" })
}

resource "aws_subnet" "private" {
  count = 3

  vpc_id            = aws_vpc.this.id
  cidr_block        = local.private_cidrs[count.index]
  availability_zone = local.azs[count.index]

  tags = merge(var.tags, { Name = "${var.name}-private-${local.azs[count.index]}", Tier = "private" })
}

resource "aws_subnet" "public" {
  count = 3

  vpc_id            = aws_vpc.this.id
  cidr_block        = local.public_cidrs[count.index]
  availability_zone = local.azs[count.index]
  # Only the NAT gateways live here; they get Elastic IPs, so nothing needs an automatic public IP.
  map_public_ip_on_launch = false

  tags = merge(var.tags, { Name = "${var.name}-public-${local.azs[count.index]}", Tier = "public" })
}

resource "aws_internet_gateway" "this" {
  vpc_id = aws_vpc.this.id

  tags = merge(var.tags, { Name = var.name })
}

resource "aws_route_table" "public" {
  vpc_id = aws_vpc.this.id

  tags = merge(var.tags, { Name = "${var.name}-public" })
}

resource "aws_route" "public_internet" {
  route_table_id         = aws_route_table.public.id
  destination_cidr_block = "0.0.0.0/0"
  gateway_id             = aws_internet_gateway.this.id
}

resource "aws_route_table_association" "public" {
  count = 3

  subnet_id      = aws_subnet.public[count.index].id
  route_table_id = aws_route_table.public.id
}

resource "aws_eip" "nat" {
  count = local.nat_gateways

  domain = "vpc"

  tags = merge(var.tags, { Name = "${var.name}-nat-${local.azs[count.index]}" })

  depends_on = [aws_internet_gateway.this]
}

# MWAA's workers install dbt from PyPI (startup.sh) and reach AWS APIs; Redshift's COPY reads the
# public tickit files in us-east-1. Both leave the private subnets through NAT.
resource "aws_nat_gateway" "this" {
  count = local.nat_gateways

  allocation_id = aws_eip.nat[count.index].id
  subnet_id     = aws_subnet.public[count.index].id

  tags = merge(var.tags, { Name = "${var.name}-${local.azs[count.index]}" })

  depends_on = [aws_internet_gateway.this]
}

resource "aws_route_table" "private" {
  count = 3

  vpc_id = aws_vpc.this.id

  tags = merge(var.tags, { Name = "${var.name}-private-${local.azs[count.index]}" })
}

resource "aws_route" "private_nat" {
  count = 3

  route_table_id         = aws_route_table.private[count.index].id
  destination_cidr_block = "0.0.0.0/0"
  nat_gateway_id         = aws_nat_gateway.this[var.one_nat_gateway_per_az ? count.index : 0].id
}

resource "aws_route_table_association" "private" {
  count = 3

  subnet_id      = aws_subnet.private[count.index].id
  route_table_id = aws_route_table.private[count.index].id
}

# S3 traffic in the VPC's own region (the MWAA bucket, a data bucket) stays off the NAT gateway and
# its per-GB charge.
resource "aws_vpc_endpoint" "s3" {
  vpc_id            = aws_vpc.this.id
  service_name      = "com.amazonaws.${data.aws_region.current.region}.s3"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = aws_route_table.private[*].id

  tags = merge(var.tags, { Name = "${var.name}-s3" })
}

################################################################################
# Security groups
################################################################################

resource "aws_security_group" "mwaa" {
  # checkov:skip=CKV2_AWS_5: attached by the caller to the MWAA environment (examples/complete); checkov does not follow module outputs
  name_prefix = "${var.name}-mwaa-"
  description = "MWAA environment: its own components and endpoints talk to each other"
  vpc_id      = aws_vpc.this.id

  tags = merge(var.tags, { Name = "${var.name}-mwaa" })

  lifecycle {
    create_before_destroy = true
  }
}

# MWAA requires a self-referencing rule: scheduler, workers, web server and the metadata database's
# endpoint all share this group.
resource "aws_vpc_security_group_ingress_rule" "mwaa_self" {
  security_group_id            = aws_security_group.mwaa.id
  referenced_security_group_id = aws_security_group.mwaa.id
  ip_protocol                  = "-1"
  description                  = "MWAA components and endpoints among themselves"
}

resource "aws_vpc_security_group_egress_rule" "mwaa_self" {
  security_group_id            = aws_security_group.mwaa.id
  referenced_security_group_id = aws_security_group.mwaa.id
  ip_protocol                  = "-1"
  description                  = "MWAA components and endpoints among themselves"
}

resource "aws_vpc_security_group_egress_rule" "mwaa_https" {
  security_group_id = aws_security_group.mwaa.id
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  description       = "AWS APIs (S3, SQS, CloudWatch, KMS, Secrets Manager, Redshift) and PyPI, through NAT"
}

resource "aws_vpc_security_group_egress_rule" "mwaa_redshift" {
  security_group_id            = aws_security_group.mwaa.id
  referenced_security_group_id = aws_security_group.redshift.id
  ip_protocol                  = "tcp"
  from_port                    = 5439
  to_port                      = 5439
  description                  = "dbt on the workers to Redshift"
}

resource "aws_security_group" "redshift" {
  # checkov:skip=CKV2_AWS_5: attached by the caller to the Redshift workgroup (examples/complete); checkov does not follow module outputs
  name_prefix = "${var.name}-redshift-"
  description = "Redshift Serverless workgroup: reachable from MWAA only"
  vpc_id      = aws_vpc.this.id

  tags = merge(var.tags, { Name = "${var.name}-redshift" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "redshift_from_mwaa" {
  security_group_id            = aws_security_group.redshift.id
  referenced_security_group_id = aws_security_group.mwaa.id
  ip_protocol                  = "tcp"
  from_port                    = 5439
  to_port                      = 5439
  description                  = "dbt on the MWAA workers"
}

# With enhanced VPC routing, COPY's reads from S3 leave through the VPC, so the workgroup needs HTTPS out.
resource "aws_vpc_security_group_egress_rule" "redshift_https" {
  security_group_id = aws_security_group.redshift.id
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  description       = "COPY from S3 (the public tickit files, a data bucket) through NAT or the S3 endpoint"
}

################################################################################
# Flow logs
################################################################################

data "aws_iam_policy_document" "flow_logs_key" {
  # checkov:skip=CKV_AWS_109: a key policy's Resource "*" means this key only; the account's administrators must be able to manage it
  # checkov:skip=CKV_AWS_111: a key policy's Resource "*" means this key only; the account's administrators must be able to manage it
  # checkov:skip=CKV_AWS_356: a key policy's Resource "*" means this key only
  statement {
    sid       = "AccountAdministration"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }

  statement {
    sid       = "CloudWatchLogsForThisLogGroup"
    actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["logs.${data.aws_region.current.region}.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${data.aws_partition.current.partition}:logs:${data.aws_region.current.region}:${data.aws_caller_identity.current.account_id}:log-group:${local.log_group_name}"]
    }
  }
}

resource "aws_kms_key" "flow_logs" {
  description             = "${var.name}: VPC flow logs"
  enable_key_rotation     = true
  deletion_window_in_days = 7
  policy                  = data.aws_iam_policy_document.flow_logs_key.json

  tags = var.tags
}

resource "aws_cloudwatch_log_group" "flow_logs" {
  name              = local.log_group_name
  retention_in_days = var.flow_log_retention_days
  kms_key_id        = aws_kms_key.flow_logs.arn

  tags = var.tags
}

data "aws_iam_policy_document" "flow_logs_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["vpc-flow-logs.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

data "aws_iam_policy_document" "flow_logs" {
  statement {
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
    resources = ["${aws_cloudwatch_log_group.flow_logs.arn}:*"]
  }
}

resource "aws_iam_role" "flow_logs" {
  name_prefix        = "${var.name}-flow-logs-"
  assume_role_policy = data.aws_iam_policy_document.flow_logs_assume.json

  tags = var.tags
}

resource "aws_iam_role_policy" "flow_logs" {
  name   = "write-flow-logs"
  role   = aws_iam_role.flow_logs.id
  policy = data.aws_iam_policy_document.flow_logs.json
}

resource "aws_flow_log" "this" {
  vpc_id          = aws_vpc.this.id
  traffic_type    = "REJECT" # what a security group or ACL refused: the useful part, at a fraction of ALL's volume
  log_destination = aws_cloudwatch_log_group.flow_logs.arn
  iam_role_arn    = aws_iam_role.flow_logs.arn

  tags = var.tags
}
