variable "region" {
  description = "AWS region."
  type        = string
}

variable "environment" {
  description = "Name of this deployment (prod, staging, ...); part of every resource name."
  type        = string
  default     = "prod"
}

variable "vpc_id" {
  description = "Existing VPC."
  type        = string
}

variable "private_subnet_ids" {
  description = "Private subnets (at least two AZs) for ECS tasks and RDS."
  type        = list(string)
}

variable "public_subnet_ids" {
  description = "Public subnets for the load balancer."
  type        = list(string)
}

variable "allowed_cidrs" {
  description = "Who may reach the load balancer on 443."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

variable "certificate_arn" {
  description = "ACM certificate for the public host name."
  type        = string
}

variable "host_name" {
  description = "Public host name, e.g. sheshi.example.com (ALLOWED_HOSTS, CSRF_TRUSTED_ORIGINS)."
  type        = string
}

variable "image" {
  description = "Container image built from deploy/docker/Dockerfile, pinned by digest (repo@sha256:...)."
  type        = string
}

variable "db_instance_class" {
  type    = string
  default = "db.m6g.large"
}

variable "db_allocated_storage" {
  description = "GiB; storage autoscaling grows it up to db_max_allocated_storage."
  type        = number
  default     = 100
}

variable "db_max_allocated_storage" {
  type    = number
  default = 1000
}

variable "db_multi_az" {
  type    = bool
  default = true
}

variable "db_backup_retention_days" {
  type    = number
  default = 35
}

variable "web_count" {
  description = "Web tasks (stateless: scale freely)."
  type        = number
  default     = 2
}

variable "worker_count" {
  description = "django-q2 clusters (each runs q_workers processes)."
  type        = number
  default     = 1
}

variable "web_concurrency" {
  description = "gunicorn workers per web task (WEB_CONCURRENCY)."
  type        = number
  default     = 3
}

variable "q_workers" {
  description = "Worker processes per django-q2 cluster (Q_WORKERS)."
  type        = number
  default     = 2
}

variable "enable_sqs" {
  description = "Create an SQS queue for django-q2 (the ORM broker on PostgreSQL is the default; see README)."
  type        = bool
  default     = false
}

variable "q_timeout" {
  description = "Seconds a job may run (Q_TIMEOUT)."
  type        = number
  default     = 600
}

variable "q_retry" {
  description = "Seconds before an unacknowledged job is handed out again (Q_RETRY, the SQS visibility timeout); above q_timeout."
  type        = number
  default     = 900
}

variable "evidence_lock_mode" {
  description = "Object Lock mode of each evidence object and audit anchor the app writes (SHESHI_S3_EVIDENCE_LOCK_MODE)."
  type        = string
  default     = "GOVERNANCE"
}

variable "evidence_retention_days" {
  description = "S3 Object Lock (governance mode) retention for evidence archives."
  type        = number
  default     = 3650
}

variable "log_retention_days" {
  type    = number
  default = 400
}
