locals {
  name = "sheshi-${var.environment}"
}

data "aws_caller_identity" "current" {}

# --- Encryption key for RDS, S3, Secrets Manager and logs -------------------------------------------
resource "aws_kms_key" "sheshi" {
  description         = "${local.name}: data at rest"
  enable_key_rotation = true
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AccountAdmin"
        Effect    = "Allow"
        Principal = { AWS = "arn:aws:iam::${data.aws_caller_identity.current.account_id}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        Sid       = "CloudWatchLogs"
        Effect    = "Allow"
        Principal = { Service = "logs.${var.region}.amazonaws.com" }
        Action    = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
        Resource  = "*"
      },
    ]
  })
}

# --- Logs: one group per process type; JSON lines from sheshi/logging.py ------------------------------
resource "aws_cloudwatch_log_group" "sheshi" {
  for_each          = toset(["web", "worker", "migrate"])
  name              = "/sheshi/${var.environment}/${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.sheshi.arn
}

# --- S3: source files (imports) and evidence archives -------------------------------------------------
resource "aws_s3_bucket" "sources" {
  bucket_prefix = "${local.name}-sources-"
}

resource "aws_s3_bucket" "evidence" {
  bucket_prefix       = "${local.name}-evidence-"
  object_lock_enabled = true
}

resource "aws_s3_bucket_object_lock_configuration" "evidence" {
  bucket = aws_s3_bucket.evidence.id
  rule {
    default_retention {
      mode = "GOVERNANCE"
      days = var.evidence_retention_days
    }
  }
}

resource "aws_s3_bucket_versioning" "all" {
  for_each = { sources = aws_s3_bucket.sources.id, evidence = aws_s3_bucket.evidence.id }
  bucket   = each.value
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "all" {
  for_each = { sources = aws_s3_bucket.sources.id, evidence = aws_s3_bucket.evidence.id }
  bucket   = each.value
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.sheshi.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_public_access_block" "all" {
  for_each                = { sources = aws_s3_bucket.sources.id, evidence = aws_s3_bucket.evidence.id }
  bucket                  = each.value
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_policy" "tls_only" {
  for_each = { sources = aws_s3_bucket.sources, evidence = aws_s3_bucket.evidence }
  bucket   = each.value.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "DenyPlainHttp"
      Effect    = "Deny"
      Principal = "*"
      Action    = "s3:*"
      Resource  = [each.value.arn, "${each.value.arn}/*"]
      Condition = { Bool = { "aws:SecureTransport" = "false" } }
    }]
  })
}

# --- Optional SQS broker for django-q2 --------------------------------------------------------------
resource "aws_sqs_queue" "jobs" {
  count                      = var.enable_sqs ? 1 : 0
  name                       = "${local.name}-jobs"
  kms_master_key_id          = aws_kms_key.sheshi.arn
  visibility_timeout_seconds = var.q_retry # = Q_RETRY, above Q_TIMEOUT (checked at start-up: sheshi/jobs/checks.py)
  message_retention_seconds  = 1209600
}

# --- Secrets: the same variable names as /etc/sheshi/sheshi.env ------------------------------------------
resource "random_password" "app_db" {
  length  = 40
  special = false
}

resource "random_password" "jobs_db" {
  length  = 40
  special = false
}

resource "random_password" "owner_db" {
  length  = 40
  special = false
}

resource "random_password" "secret_key" {
  length  = 64
  special = false
}

resource "random_password" "audit_signing_key" {
  length  = 64
  special = false
}

resource "random_bytes" "field_key" {
  length = 32 # a Fernet key: 32 random bytes, url-safe base64 (SHESHI_FIELD_KEYS)
}

resource "random_password" "metrics_token" {
  length  = 40
  special = false
}

resource "aws_secretsmanager_secret" "app" {
  name_prefix = "${local.name}-app-"
  kms_key_id  = aws_kms_key.sheshi.arn
}

resource "aws_secretsmanager_secret_version" "app" {
  secret_id = aws_secretsmanager_secret.app.id
  secret_string = jsonencode({
    DATABASE_URL             = "postgres://sheshi_app:${random_password.app_db.result}@${aws_db_instance.sheshi.address}:5432/sheshi?sslmode=require"
    DATABASE_JOBS_URL        = "postgres://sheshi_jobs:${random_password.jobs_db.result}@${aws_db_instance.sheshi.address}:5432/sheshi?sslmode=require"
    DATABASE_OWNER_URL       = "postgres://sheshi_owner:${random_password.owner_db.result}@${aws_db_instance.sheshi.address}:5432/sheshi?sslmode=require"
    SECRET_KEY               = random_password.secret_key.result
    SHESHI_AUDIT_SIGNING_KEY = random_password.audit_signing_key.result
    SHESHI_METRICS_TOKEN     = random_password.metrics_token.result
    SHESHI_FIELD_KEYS        = replace(replace(random_bytes.field_key.base64, "+", "-"), "/", "_")
    SHESHI_APP_DB_PASSWORD   = random_password.app_db.result
    SHESHI_JOBS_DB_PASSWORD  = random_password.jobs_db.result
    SHESHI_OWNER_DB_PASSWORD = random_password.owner_db.result
  })
  lifecycle {
    # The audit signing key must never change behind the operator's back (README: key rotation).
    ignore_changes = [secret_string]
  }
}
