output "load_balancer_dns" {
  description = "Point the host name's DNS (CNAME/alias) here."
  value       = aws_lb.sheshi.dns_name
}

output "db_address" {
  value = aws_db_instance.sheshi.address
}

output "db_master_secret_arn" {
  description = "RDS-managed master credentials (for the one-time role bootstrap only)."
  value       = aws_db_instance.sheshi.master_user_secret[0].secret_arn
}

output "app_secret_arn" {
  value = aws_secretsmanager_secret.app.arn
}

output "sources_bucket" {
  value = aws_s3_bucket.sources.bucket
}

output "evidence_bucket" {
  value = aws_s3_bucket.evidence.bucket
}

output "jobs_queue_url" {
  value = var.enable_sqs ? aws_sqs_queue.jobs[0].url : null
}

output "migrate_task_definition" {
  description = "Run once per release before updating the services (README)."
  value       = aws_ecs_task_definition.sheshi["migrate"].arn
}

output "cluster_name" {
  value = aws_ecs_cluster.sheshi.name
}
