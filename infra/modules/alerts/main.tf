data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_iam_policy_document" "key" {
  # checkov:skip=CKV_AWS_109: in a key policy Resource "*" means this key only; the account's administrators must be able to manage it
  # checkov:skip=CKV_AWS_111: in a key policy Resource "*" means this key only; the account's administrators must be able to manage it
  # checkov:skip=CKV_AWS_356: in a key policy Resource "*" means this key only
  # The publisher (the MWAA execution role) gets the key through its IAM policy, which this statement enables.
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
  description             = "${var.name}: the DAG's failure alerts (SNS topic)"
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_key_deletion_window_in_days
  policy                  = data.aws_iam_policy_document.key.json

  tags = var.tags
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name}-alerts"
  target_key_id = aws_kms_key.this.key_id
}

# The DAG publishes here (Airflow Variable tickit_alert_sns_topic_arn); subscribe mail, chat or a queue.
resource "aws_sns_topic" "this" {
  name              = "${var.name}-alerts"
  kms_master_key_id = aws_kms_key.this.arn

  tags = var.tags
}

# SNS sends a confirmation mail first; nothing is delivered to the address until its owner confirms.
resource "aws_sns_topic_subscription" "email" {
  for_each = toset(var.email_addresses)

  topic_arn = aws_sns_topic.this.arn
  protocol  = "email"
  endpoint  = each.value
}
