data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

locals {
  partition       = data.aws_partition.current.partition
  region          = data.aws_region.current.region
  account_id      = data.aws_caller_identity.current.account_id
  environment_arn = "arn:${local.partition}:airflow:${local.region}:${local.account_id}:environment/${var.name}"
  # Airflow reads Variables from Secrets Manager first, under this prefix, then from its database.
  variables_prefix = "airflow/${var.name}/variables"
  variable_secret_arns = [
    "arn:${local.partition}:secretsmanager:${local.region}:${local.account_id}:secret:${local.variables_prefix}/*",
  ]
  use_secrets_backend = length(var.airflow_variables) > 0
  runs_prefix         = trim(var.runs_prefix, "/")

  secrets_backend_options = { for key, value in {
    "secrets.backend" = "airflow.providers.amazon.aws.secrets.secrets_manager.SecretsManagerBackend"
    # Only Variables are looked up, and only the DAG's own names: every other lookup goes straight to
    # Airflow's database instead of costing a Secrets Manager call.
    "secrets.backend_kwargs" = jsonencode({
      variables_prefix         = local.variables_prefix
      variables_lookup_pattern = "^(${join("|", sort(keys(var.airflow_variables)))})$"
      connections_prefix       = null
      config_prefix            = null
    })
  } : key => value if local.use_secrets_backend }

  airflow_configuration_options = merge(
    {
      # Cosmos would otherwise send usage telemetry on every task and DAG run.
      "cosmos.enable_telemetry" = "False"
      # Cosmos 1.15 otherwise rewrites a Variable holding every model result so far after each result:
      # quadratic in the project's size (benchmarks/README.md). The local Airflow and the rehearsal set it too.
      "cosmos.enable_watcher_reliable_retry" = "False"
      # Every model task waits in the triggerer (docs/decisions/023): room for 1,000 at once, Airflow's
      # default, written down so that it is not lowered by accident.
      "triggerer.capacity" = "1000"
      # A task whose worker died (container replaced, out of memory) is failed and retried after 60 s
      # without a heartbeat instead of Airflow's 300 s. `tickit deploy rehearse` uses the same values
      # (deploy/rehearsal/cluster.py) and kills a worker mid-run to check the DAG recovers with them.
      "scheduler.task_instance_heartbeat_timeout"                    = "60"
      "scheduler.task_instance_heartbeat_timeout_detection_interval" = "10"
      # A task its worker took from the queue but never started (the worker died first) is requeued
      # after 150 s in "queued" instead of Airflow's 600 s.
      "scheduler.task_queued_timeout"                                = "150"
      "scheduler.task_queued_timeout_check_interval"                 = "15"
      # Run history: every DAG run keeps its dbt artifacts under this prefix of the bucket, the last
      # keep_runs runs only (tickit_runtime/artifacts.py reads both).
      "tickit.runs_uri"  = "s3://${var.source_bucket_name}/${local.runs_prefix}"
      "tickit.keep_runs" = tostring(var.keep_runs)
      # The alert Variables that may hold a secret (a webhook's token, an SMTP password): Airflow's UI, REST
      # API and logs show them as *** (their names have no word Airflow hides by itself). The same list as
      # the local Airflow's (tickit_runtime/alerts/settings.py, SECRET_SETTINGS; tests/unit/test_secret_outputs.py).
      "core.sensitive_var_conn_names" = "tickit_alert_webhook_url,tickit_alert_smtp_url"
    },
    # This deployment's schemas in a shared database (tickit_runtime/schemas.py reads the option); none set,
    # the plain names.
    var.schema_prefix == "" ? {} : { "tickit.schema_prefix" = var.schema_prefix },
    local.secrets_backend_options,
    var.airflow_configuration_options,
  )
}

################################################################################
# Execution role: what Airflow's components may do, and nothing more
################################################################################

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["airflow.amazonaws.com", "airflow-env.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

data "aws_iam_policy_document" "execution" {
  statement {
    sid       = "PublishAirflowMetrics"
    actions   = ["airflow:PublishMetrics"]
    resources = [local.environment_arn]
  }

  statement {
    sid       = "NeverListOtherBuckets"
    effect    = "Deny"
    actions   = ["s3:ListAllMyBuckets"]
    resources = [var.source_bucket_arn, "${var.source_bucket_arn}/*"]
  }

  statement {
    sid       = "ReadTheBundle"
    actions   = ["s3:GetObject*", "s3:GetBucket*", "s3:List*"]
    resources = [var.source_bucket_arn, "${var.source_bucket_arn}/*"]
  }

  statement {
    # The run history (dbt's artifacts per DAG run): written and pruned by the DAG's tasks, under its
    # prefix only; the bundle beside it stays read-only.
    sid       = "KeepTheRunHistory"
    actions   = ["s3:PutObject", "s3:DeleteObject"]
    resources = ["${var.source_bucket_arn}/${local.runs_prefix}/*"]
  }

  statement {
    sid       = "CheckTheBucketIsNotPublic"
    actions   = ["s3:GetAccountPublicAccessBlock"]
    resources = ["*"] # an account-level setting: there is no narrower resource
  }

  statement {
    sid = "WriteAirflowLogs"
    actions = [
      "logs:CreateLogStream",
      "logs:CreateLogGroup",
      "logs:PutLogEvents",
      "logs:GetLogEvents",
      "logs:GetLogRecord",
      "logs:GetLogGroupFields",
      "logs:GetQueryResults",
    ]
    resources = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:airflow-${var.name}-*"]
  }

  statement {
    sid       = "FindLogGroupsAndPublishMetrics"
    actions   = ["logs:DescribeLogGroups", "cloudwatch:PutMetricData"]
    resources = ["*"] # neither action supports a resource narrower than the account
  }

  statement {
    sid = "CeleryQueue"
    actions = [
      "sqs:ChangeMessageVisibility",
      "sqs:DeleteMessage",
      "sqs:GetQueueAttributes",
      "sqs:GetQueueUrl",
      "sqs:ReceiveMessage",
      "sqs:SendMessage",
    ]
    # MWAA creates the Celery queue in its own service account; its name is the only stable part.
    resources = ["arn:${local.partition}:sqs:${local.region}:*:airflow-celery-*"]
  }

  statement {
    sid       = "DecryptTheBundle"
    actions   = ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey*"]
    resources = [var.source_bucket_kms_key_arn]

    condition {
      test     = "StringLike"
      variable = "kms:ViaService"
      values   = ["s3.${local.region}.amazonaws.com"]
    }
  }

  dynamic "statement" {
    for_each = var.kms_key_arn != null ? [var.kms_key_arn] : []

    content {
      sid       = "EncryptTheCeleryQueue"
      actions   = ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey*", "kms:Encrypt"]
      resources = [statement.value]

      condition {
        test     = "StringLike"
        variable = "kms:ViaService"
        values   = ["sqs.${local.region}.amazonaws.com"]
      }
    }
  }

  dynamic "statement" {
    # With MWAA's AWS-owned key (kms_key_arn = null) the Celery queue is encrypted with a key outside
    # this account: the documented grant is "any key not in this account, through SQS only".
    for_each = var.kms_key_arn == null ? [1] : []

    content {
      sid           = "UseTheAwsOwnedQueueKey"
      actions       = ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey*", "kms:Encrypt"]
      not_resources = ["arn:${local.partition}:kms:*:${local.account_id}:key/*"]

      condition {
        test     = "StringLike"
        variable = "kms:ViaService"
        values   = ["sqs.${local.region}.amazonaws.com"]
      }
    }
  }

  dynamic "statement" {
    # dbt's IAM authentication to Redshift Serverless: temporary credentials for the execution role's
    # own database user (IAMR:<role name>), no password anywhere.
    for_each = length(var.redshift_workgroup_arns) > 0 ? [1] : []

    content {
      sid       = "DbtToRedshiftServerless"
      actions   = ["redshift-serverless:GetCredentials", "redshift-serverless:GetWorkgroup"]
      resources = var.redshift_workgroup_arns
    }
  }

  dynamic "statement" {
    # The same for a provisioned Redshift cluster, limited to the database users and databases named.
    for_each = length(var.redshift_cluster_credentials) > 0 ? [1] : []

    content {
      sid     = "DbtToRedshiftCluster"
      actions = ["redshift:GetClusterCredentials"]
      resources = flatten([
        for c in var.redshift_cluster_credentials : [
          "arn:${local.partition}:redshift:${local.region}:${local.account_id}:dbuser:${c.cluster_identifier}/${c.db_user}",
          "arn:${local.partition}:redshift:${local.region}:${local.account_id}:dbname:${c.cluster_identifier}/${c.db_name}",
        ]
      ])
    }
  }

  dynamic "statement" {
    # The DAG's failure alerts (tickit_runtime.alerts): publish to the alert topics only.
    for_each = length(var.alert_topic_arns) > 0 ? [1] : []

    content {
      sid       = "PublishTheDagsAlerts"
      actions   = ["sns:Publish"]
      resources = var.alert_topic_arns
    }
  }

  dynamic "statement" {
    # An encrypted topic needs its key from the publisher, through SNS only.
    for_each = length(var.alert_kms_key_arns) > 0 ? [1] : []

    content {
      sid       = "EncryptTheDagsAlerts"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
      resources = var.alert_kms_key_arns

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["sns.${local.region}.amazonaws.com"]
      }
    }
  }

  dynamic "statement" {
    for_each = local.use_secrets_backend ? [1] : []

    content {
      sid       = "ReadTheDagsAirflowVariables"
      actions   = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
      resources = local.variable_secret_arns
    }
  }

  dynamic "statement" {
    for_each = local.use_secrets_backend ? [1] : []

    content {
      sid       = "DecryptTheDagsAirflowVariables"
      actions   = ["kms:Decrypt"]
      resources = [aws_kms_key.variables[0].arn]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["secretsmanager.${local.region}.amazonaws.com"]
      }
    }
  }
}

resource "aws_iam_role" "this" {
  # A fixed name, not a prefix: on Redshift it is also the database user (IAMR:<name>) that holds the
  # grants, which must not change when the role is replaced.
  name               = "${var.name}-mwaa-execution"
  description        = "Execution role of the MWAA environment ${var.name}"
  assume_role_policy = data.aws_iam_policy_document.assume.json

  tags = var.tags
}

resource "aws_iam_role_policy" "this" {
  name   = "mwaa-execution"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.execution.json
}

################################################################################
# The DAG's Airflow Variables, in Secrets Manager
################################################################################

data "aws_iam_policy_document" "variables_key" {
  # checkov:skip=CKV_AWS_109: in a key policy Resource "*" means this key only; the account's administrators must be able to manage it
  # checkov:skip=CKV_AWS_111: in a key policy Resource "*" means this key only; the account's administrators must be able to manage it
  # checkov:skip=CKV_AWS_356: in a key policy Resource "*" means this key only
  statement {
    sid       = "AccountAdministration"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }
}

resource "aws_kms_key" "variables" {
  count = local.use_secrets_backend ? 1 : 0

  description             = "${var.name}: the DAG's Airflow Variables in Secrets Manager"
  enable_key_rotation     = true
  deletion_window_in_days = 7
  policy                  = data.aws_iam_policy_document.variables_key.json

  tags = var.tags
}

resource "aws_secretsmanager_secret" "variables" {
  # checkov:skip=CKV2_AWS_57: these hold configuration (host names, ARNs, a region), not credentials: there is nothing to rotate
  for_each = var.airflow_variables

  name        = "${local.variables_prefix}/${each.key}"
  description = "Airflow Variable ${each.key} of the MWAA environment ${var.name}"
  kms_key_id  = aws_kms_key.variables[0].arn
  # Configuration that Terraform re-creates at will: no recovery window blocking a re-apply after destroy.
  recovery_window_in_days = 0

  tags = var.tags
}

resource "aws_secretsmanager_secret_version" "variables" {
  for_each = var.airflow_variables

  secret_id     = aws_secretsmanager_secret.variables[each.key].id
  secret_string = each.value
}

################################################################################
# First versions of the files the environment is created with
################################################################################

# MWAA refuses to create an environment whose requirements.txt or startup.sh does not exist yet. These
# placeholders let one `terraform apply` create it; `tickit deploy push` then uploads the real files and
# points the environment at their versions. Terraform never overwrites what push uploaded.
resource "aws_s3_object" "requirements" {
  count = var.create_placeholder_files ? 1 : 0

  bucket     = var.source_bucket_name
  key        = "requirements.txt"
  content    = "# Replaced by `tickit deploy push`.\n"
  kms_key_id = var.source_bucket_kms_key_arn

  lifecycle {
    ignore_changes = [content, etag, source, kms_key_id, metadata, tags]
  }
}

resource "aws_s3_object" "startup" {
  count = var.create_placeholder_files ? 1 : 0

  bucket     = var.source_bucket_name
  key        = "startup.sh"
  content    = "#!/usr/bin/env bash\n# Replaced by `tickit deploy push`.\n"
  kms_key_id = var.source_bucket_kms_key_arn

  lifecycle {
    ignore_changes = [content, etag, source, kms_key_id, metadata, tags]
  }
}

# An empty zip archive (its end-of-central-directory record alone): MWAA needs plugins.zip to exist.
resource "aws_s3_object" "plugins" {
  count = var.create_placeholder_files ? 1 : 0

  bucket         = var.source_bucket_name
  key            = "plugins.zip"
  content_base64 = "UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA=="
  kms_key_id     = var.source_bucket_kms_key_arn

  lifecycle {
    ignore_changes = [content_base64, etag, source, kms_key_id, metadata, tags]
  }
}

resource "aws_s3_object" "dags" {
  count = var.create_placeholder_files ? 1 : 0

  bucket     = var.source_bucket_name
  key        = "dags/.airflowignore"
  content    = "# Replaced by `tickit deploy push`.\n"
  kms_key_id = var.source_bucket_kms_key_arn

  lifecycle {
    ignore_changes = [content, etag, source, kms_key_id, metadata, tags]
  }
}

################################################################################
# The environment
################################################################################

resource "aws_mwaa_environment" "this" {
  name              = var.name
  airflow_version   = var.airflow_version
  environment_class = var.environment_class
  min_workers       = var.min_workers
  max_workers       = var.max_workers
  schedulers        = var.schedulers
  kms_key           = var.kms_key_arn

  execution_role_arn = aws_iam_role.this.arn
  source_bucket_arn  = var.source_bucket_arn

  # The layout `tickit deploy build` writes.
  dag_s3_path                      = "dags"
  requirements_s3_path             = "requirements.txt"
  requirements_s3_object_version   = var.requirements_s3_object_version
  startup_script_s3_path           = "startup.sh"
  startup_script_s3_object_version = var.startup_script_s3_object_version
  # The dbt wheels the workers' startup.sh installs from, with no package index: MWAA extracts
  # plugins.zip to /usr/local/airflow/plugins on every container before startup.sh runs.
  plugins_s3_path           = "plugins.zip"
  plugins_s3_object_version = var.plugins_s3_object_version

  airflow_configuration_options   = local.airflow_configuration_options
  webserver_access_mode           = var.webserver_access_mode
  weekly_maintenance_window_start = var.weekly_maintenance_window_start
  endpoint_management             = "SERVICE" # MWAA creates the VPC endpoints it needs in the subnets

  network_configuration {
    subnet_ids         = var.subnet_ids
    security_group_ids = var.security_group_ids
  }

  logging_configuration {
    dag_processing_logs {
      enabled   = true
      log_level = var.log_level
    }

    scheduler_logs {
      enabled   = true
      log_level = var.log_level
    }

    task_logs {
      enabled   = true
      log_level = var.task_log_level
    }

    webserver_logs {
      enabled   = true
      log_level = var.log_level
    }

    worker_logs {
      enabled   = true
      log_level = var.log_level
    }
  }

  tags = var.tags

  lifecycle {
    # `tickit deploy push` moves the environment to each new requirements.txt/startup.sh/plugins.zip
    # version; a later `terraform apply` must not move it back.
    ignore_changes = [requirements_s3_object_version, startup_script_s3_object_version, plugins_s3_object_version]
  }

  depends_on = [
    aws_iam_role_policy.this,
    aws_s3_object.requirements,
    aws_s3_object.startup,
    aws_s3_object.plugins,
    aws_s3_object.dags,
    aws_secretsmanager_secret_version.variables,
  ]
}
