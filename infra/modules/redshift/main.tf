data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  # The public bucket of AWS's sample data sets: COPY reads s3://redshift-downloads/tickit/.
  public_data_bucket_arn = "arn:${data.aws_partition.current.partition}:s3:::redshift-downloads"
  data_bucket_arns       = var.data_bucket_arn != null ? [var.data_bucket_arn] : []
}

################################################################################
# Encryption
################################################################################

data "aws_iam_policy_document" "key" {
  # checkov:skip=CKV_AWS_109: in a key policy Resource "*" means this key only; the account's administrators must be able to manage it
  # checkov:skip=CKV_AWS_111: in a key policy Resource "*" means this key only; the account's administrators must be able to manage it
  # checkov:skip=CKV_AWS_356: in a key policy Resource "*" means this key only
  # Redshift Serverless and Secrets Manager use the key through grants made with the caller's IAM
  # permissions, which this statement enables.
  statement {
    sid       = "AccountAdministration"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }
}

resource "aws_kms_key" "this" {
  description             = "${var.name}: Redshift Serverless data and its admin password secret"
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_key_deletion_window_in_days
  policy                  = data.aws_iam_policy_document.key.json

  tags = var.tags
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name}-redshift"
  target_key_id = aws_kms_key.this.key_id
}

################################################################################
# The role COPY uses to read the raw files
################################################################################

data "aws_iam_policy_document" "copy_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["redshift.amazonaws.com", "redshift-serverless.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

data "aws_iam_policy_document" "copy" {
  statement {
    sid       = "ListTheSourceBuckets"
    actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
    resources = concat([local.public_data_bucket_arn], local.data_bucket_arns)
  }

  statement {
    sid     = "ReadTheSourceFiles"
    actions = ["s3:GetObject"]
    resources = concat(
      ["${local.public_data_bucket_arn}/tickit/*"],
      [for arn in local.data_bucket_arns : "${arn}/*"],
    )
  }

  dynamic "statement" {
    for_each = var.manifest_bucket_arn != null ? [var.manifest_bucket_arn] : []

    content {
      sid       = "ReadTheManifests"
      actions   = ["s3:GetObject"]
      resources = ["${statement.value}/raw-manifests/*"]
    }
  }

  dynamic "statement" {
    for_each = var.manifest_bucket_kms_key_arn != null ? [var.manifest_bucket_kms_key_arn] : []

    content {
      sid       = "DecryptTheManifests"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]
    }
  }

  dynamic "statement" {
    for_each = var.data_bucket_kms_key_arn != null ? [var.data_bucket_kms_key_arn] : []

    content {
      sid       = "DecryptTheDataBucket"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_role" "copy" {
  name_prefix        = "${var.name}-redshift-copy-"
  description        = "Assumed by Redshift Serverless to COPY the tickit files from S3"
  assume_role_policy = data.aws_iam_policy_document.copy_assume.json

  tags = var.tags
}

resource "aws_iam_role_policy" "copy" {
  name   = "read-tickit-sources"
  role   = aws_iam_role.copy.id
  policy = data.aws_iam_policy_document.copy.json
}

################################################################################
# Namespace and workgroup
################################################################################

resource "aws_redshiftserverless_namespace" "this" {
  namespace_name = var.name
  db_name        = var.database_name
  admin_username = var.admin_username
  # Redshift generates the admin password and keeps it in Secrets Manager; it never passes through
  # Terraform's state or this repository.
  manage_admin_password            = true
  admin_password_secret_kms_key_id = aws_kms_key.this.arn
  kms_key_id                       = aws_kms_key.this.arn

  iam_roles            = [aws_iam_role.copy.arn]
  default_iam_role_arn = aws_iam_role.copy.arn

  log_exports = ["userlog", "connectionlog", "useractivitylog"]

  tags = var.tags
}

resource "aws_redshiftserverless_workgroup" "this" {
  namespace_name = aws_redshiftserverless_namespace.this.namespace_name
  workgroup_name = var.name

  base_capacity = var.base_capacity
  max_capacity  = var.max_capacity

  publicly_accessible  = false
  enhanced_vpc_routing = true # COPY's S3 traffic stays in the VPC, under its security groups and flow logs
  subnet_ids           = var.subnet_ids
  security_group_ids   = var.security_group_ids

  config_parameter {
    parameter_key   = "require_ssl"
    parameter_value = "true"
  }

  config_parameter {
    parameter_key   = "enable_user_activity_logging"
    parameter_value = "true"
  }

  config_parameter {
    parameter_key   = "max_query_execution_time"
    parameter_value = tostring(var.max_query_execution_time)
  }

  tags = var.tags
}

# A ceiling on compute per day, so a runaway schedule or query cannot run up the bill unnoticed.
resource "aws_redshiftserverless_usage_limit" "this" {
  count = var.rpu_hours_per_day_limit != null ? 1 : 0

  resource_arn  = aws_redshiftserverless_workgroup.this.arn
  usage_type    = "serverless-compute"
  amount        = var.rpu_hours_per_day_limit
  period        = "daily"
  breach_action = var.rpu_hours_limit_breach_action
}
