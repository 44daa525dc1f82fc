# ECS Fargate: the web service behind an HTTPS load balancer, the worker service (django-q2 clusters),
# and a `migrate` task definition that the release pipeline runs once per release before the services
# roll (deploy/aws/README.md).
resource "aws_ecs_cluster" "sheshi" {
  name = local.name
  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

locals {
  # Non-secret settings: the same names as in /etc/sheshi/sheshi.env.
  environment = [
    { name = "DJANGO_SETTINGS_MODULE", value = "sheshi.settings.prod" },
    { name = "SHESHI_APP_DB_ROLE", value = "sheshi_app" },
    { name = "ALLOWED_HOSTS", value = "${var.host_name},127.0.0.1" }, # 127.0.0.1: the container health check
    { name = "CSRF_TRUSTED_ORIGINS", value = "https://${var.host_name}" },
    { name = "WEB_CONCURRENCY", value = tostring(var.web_concurrency) },
    { name = "Q_WORKERS", value = tostring(var.q_workers) },
    { name = "LOG_LEVEL", value = "INFO" },
    { name = "Q_TIMEOUT", value = tostring(var.q_timeout) },
    { name = "Q_RETRY", value = tostring(var.q_retry) }, # the SQS visibility timeout the workers ask for
    { name = "SHESHI_AWS_REGION", value = var.region },
    # Files (sheshi/filestore): SSE-KMS with this key; evidence objects under Object Lock.
    { name = "SHESHI_S3_SOURCES_BUCKET", value = aws_s3_bucket.sources.bucket },
    { name = "SHESHI_S3_EVIDENCE_BUCKET", value = aws_s3_bucket.evidence.bucket },
    { name = "SHESHI_S3_KMS_KEY_ID", value = aws_kms_key.sheshi.arn },
    { name = "SHESHI_S3_EVIDENCE_LOCK_MODE", value = var.evidence_lock_mode },
    { name = "SHESHI_S3_EVIDENCE_LOCK_DAYS", value = tostring(var.evidence_retention_days) },
    # Audit anchors in the evidence bucket (audit/anchor/s3.py), under this key prefix.
    { name = "SHESHI_AUDIT_ANCHOR_STORE", value = "audit.anchor.s3.S3AnchorStore" },
    { name = "SHESHI_AUDIT_ANCHOR_DIR", value = "audit-anchors" },
    { name = "SHESHI_SQS_QUEUE_URL", value = var.enable_sqs ? aws_sqs_queue.jobs[0].url : "" },
  ]
  secrets = [
    # Injected per container by ECS (not read by the task itself with SHESHI_AWS_SECRET_ID), so the
    # web task never holds the jobs role's URL; SHESHI_AWS_SECRET_ID is for hosts outside ECS.
    for key in ["DATABASE_URL", "DATABASE_OWNER_URL", "SECRET_KEY", "SHESHI_AUDIT_SIGNING_KEY", "SHESHI_METRICS_TOKEN",
    "SHESHI_FIELD_KEYS"] :
    { name = key, valueFrom = "${aws_secretsmanager_secret.app.arn}:${key}::" }
  ]
  containers = {
    web     = { command = null, cpu = 1024, memory = 2048, port = true }
    worker  = { command = ["python", "manage.py", "qcluster"], cpu = 1024, memory = 2048, port = false }
    migrate = { command = ["python", "manage.py", "migrate", "--no-input"], cpu = 512, memory = 1024, port = false }
  }
}

resource "aws_ecs_task_definition" "sheshi" {
  for_each                 = local.containers
  family                   = "${local.name}-${each.key}"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = each.value.cpu
  memory                   = each.value.memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn
  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }
  container_definitions = jsonencode([{
    name        = each.key
    image       = var.image
    essential   = true
    command     = each.value.command
    environment = local.environment
    # The web task never receives the jobs role's credentials (SECURITY.md: the system's powers).
    secrets = concat(local.secrets, each.key == "web" ? [] : [
      { name = "DATABASE_JOBS_URL", valueFrom = "${aws_secretsmanager_secret.app.arn}:DATABASE_JOBS_URL::" }
    ])
    readonlyRootFilesystem = false
    user                   = "10001:10001"
    stopTimeout            = each.key == "worker" ? 120 : 30
    portMappings           = each.value.port ? [{ containerPort = 8000, protocol = "tcp" }] : []
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.sheshi[each.key].name
        awslogs-region        = var.region
        awslogs-stream-prefix = each.key
      }
    }
  }])
}

resource "aws_ecs_service" "web" {
  name                               = "web"
  cluster                            = aws_ecs_cluster.sheshi.id
  task_definition                    = aws_ecs_task_definition.sheshi["web"].arn
  desired_count                      = var.web_count
  launch_type                        = "FARGATE"
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200
  health_check_grace_period_seconds  = 60
  deployment_circuit_breaker {
    enable   = true
    rollback = true # a release whose tasks never turn healthy rolls back to the previous task definition
  }
  network_configuration {
    subnets         = var.private_subnet_ids
    security_groups = [aws_security_group.web.id]
  }
  load_balancer {
    target_group_arn = aws_lb_target_group.web.arn
    container_name   = "web"
    container_port   = 8000
  }
  depends_on = [aws_lb_listener.https]
}

resource "aws_ecs_service" "worker" {
  name            = "worker"
  cluster         = aws_ecs_cluster.sheshi.id
  task_definition = aws_ecs_task_definition.sheshi["worker"].arn
  desired_count   = var.worker_count
  launch_type     = "FARGATE"
  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }
  network_configuration {
    subnets         = var.private_subnet_ids
    security_groups = [aws_security_group.worker.id]
  }
}

# --- Load balancer: TLS 1.2+ only, /readyz as the readiness check ------------------------------------
resource "aws_lb" "sheshi" {
  name                       = local.name
  load_balancer_type         = "application"
  subnets                    = var.public_subnet_ids
  security_groups            = [aws_security_group.alb.id]
  drop_invalid_header_fields = true
}

resource "aws_lb_target_group" "web" {
  name_prefix          = "shweb-"
  port                 = 8000
  protocol             = "HTTP"
  target_type          = "ip"
  vpc_id               = var.vpc_id
  deregistration_delay = 30
  health_check {
    path                = "/readyz"
    matcher             = "200"
    interval            = 15
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }
  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.sheshi.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  certificate_arn   = var.certificate_arn
  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.web.arn
  }
}

resource "aws_lb_listener_rule" "no_public_metrics" {
  listener_arn = aws_lb_listener.https.arn
  priority     = 10
  condition {
    path_pattern {
      values = ["/metrics"]
    }
  }
  action {
    type = "fixed-response"
    fixed_response {
      content_type = "text/plain"
      message_body = "not found"
      status_code  = "404"
    }
  }
}

resource "aws_security_group" "alb" {
  name_prefix = "${local.name}-alb-"
  vpc_id      = var.vpc_id
  description = "HTTPS from the allowed networks"
}

resource "aws_vpc_security_group_ingress_rule" "alb_https" {
  for_each          = toset(var.allowed_cidrs)
  security_group_id = aws_security_group.alb.id
  cidr_ipv4         = each.value
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
}

resource "aws_vpc_security_group_egress_rule" "alb_to_web" {
  security_group_id            = aws_security_group.alb.id
  referenced_security_group_id = aws_security_group.web.id
  ip_protocol                  = "tcp"
  from_port                    = 8000
  to_port                      = 8000
}

resource "aws_security_group" "web" {
  name_prefix = "${local.name}-web-"
  vpc_id      = var.vpc_id
  description = "Sheshi web tasks"
}

resource "aws_vpc_security_group_ingress_rule" "web_from_alb" {
  security_group_id            = aws_security_group.web.id
  referenced_security_group_id = aws_security_group.alb.id
  ip_protocol                  = "tcp"
  from_port                    = 8000
  to_port                      = 8000
}

resource "aws_security_group" "worker" {
  name_prefix = "${local.name}-worker-"
  vpc_id      = var.vpc_id
  description = "Sheshi worker tasks (no inbound traffic)"
}

resource "aws_vpc_security_group_egress_rule" "tasks_out" {
  # HTTPS to AWS APIs (ECR, Secrets Manager, S3, SQS, logs) and PostgreSQL to RDS.
  for_each          = { web = aws_security_group.web.id, worker = aws_security_group.worker.id }
  security_group_id = each.value
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "-1"
}

# --- IAM ---------------------------------------------------------------------------------------------
data "aws_iam_policy_document" "ecs_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "execution" {
  name_prefix        = "${local.name}-exec-"
  assume_role_policy = data.aws_iam_policy_document.ecs_assume.json
}

resource "aws_iam_role_policy_attachment" "execution" {
  role       = aws_iam_role.execution.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}

data "aws_iam_policy_document" "execution_secrets" {
  statement {
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [aws_secretsmanager_secret.app.arn]
  }
  statement {
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.sheshi.arn]
  }
}

resource "aws_iam_role_policy" "execution_secrets" {
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution_secrets.json
}

resource "aws_iam_role" "task" {
  name_prefix        = "${local.name}-task-"
  assume_role_policy = data.aws_iam_policy_document.ecs_assume.json
}

data "aws_iam_policy_document" "task" {
  statement {
    sid       = "SourceFiles"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:ListBucket"]
    resources = [aws_s3_bucket.sources.arn, "${aws_s3_bucket.sources.arn}/*"]
  }
  statement {
    sid       = "EvidenceAppendOnly" # no DeleteObject: evidence is written once and kept under Object Lock
    actions   = ["s3:GetObject", "s3:PutObject", "s3:ListBucket"]
    resources = [aws_s3_bucket.evidence.arn, "${aws_s3_bucket.evidence.arn}/*"]
  }
  statement {
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.sheshi.arn]
  }
  dynamic "statement" {
    for_each = var.enable_sqs ? [1] : []
    content {
      sid = "JobQueue"
      actions = ["sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
      "sqs:ChangeMessageVisibility", "sqs:GetQueueUrl"]
      resources = [aws_sqs_queue.jobs[0].arn]
    }
  }
}

resource "aws_iam_role_policy" "task" {
  role   = aws_iam_role.task.id
  policy = data.aws_iam_policy_document.task.json
}
