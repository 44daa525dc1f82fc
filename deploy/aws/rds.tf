# PostgreSQL 15 on RDS: encrypted at rest (KMS), TLS required for every connection (rds.force_ssl),
# Multi-AZ, automated backups with point-in-time recovery, deletion protection.
resource "aws_db_subnet_group" "sheshi" {
  name       = local.name
  subnet_ids = var.private_subnet_ids
}

resource "aws_db_parameter_group" "sheshi" {
  name   = local.name
  family = "postgres15"

  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }
  parameter {
    name  = "log_min_duration_statement"
    value = "1000"
  }
  parameter {
    name         = "max_locks_per_transaction"
    value        = "256"
    apply_method = "pending-reboot"
  }
}

resource "aws_db_instance" "sheshi" {
  identifier                      = local.name
  engine                          = "postgres"
  engine_version                  = "15"
  instance_class                  = var.db_instance_class
  allocated_storage               = var.db_allocated_storage
  max_allocated_storage           = var.db_max_allocated_storage
  storage_type                    = "gp3"
  storage_encrypted               = true
  kms_key_id                      = aws_kms_key.sheshi.arn
  db_name                         = "postgres"
  username                        = "sheshi_admin"
  manage_master_user_password     = true # the master password lives in Secrets Manager, rotated by RDS
  master_user_secret_kms_key_id   = aws_kms_key.sheshi.arn
  db_subnet_group_name            = aws_db_subnet_group.sheshi.name
  parameter_group_name            = aws_db_parameter_group.sheshi.name
  vpc_security_group_ids          = [aws_security_group.db.id]
  multi_az                        = var.db_multi_az
  publicly_accessible             = false
  backup_retention_period         = var.db_backup_retention_days
  backup_window                   = "02:00-03:00"
  maintenance_window              = "sun:03:30-sun:04:30"
  copy_tags_to_snapshot           = true
  deletion_protection             = true
  skip_final_snapshot             = false
  final_snapshot_identifier       = "${local.name}-final"
  performance_insights_enabled    = true
  performance_insights_kms_key_id = aws_kms_key.sheshi.arn
  enabled_cloudwatch_logs_exports = ["postgresql"]
  auto_minor_version_upgrade      = true
}

resource "aws_security_group" "db" {
  name_prefix = "${local.name}-db-"
  vpc_id      = var.vpc_id
  description = "PostgreSQL from Sheshi tasks only"
}

resource "aws_vpc_security_group_ingress_rule" "db_from_tasks" {
  for_each                     = { web = aws_security_group.web.id, worker = aws_security_group.worker.id }
  security_group_id            = aws_security_group.db.id
  referenced_security_group_id = each.value
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
}
