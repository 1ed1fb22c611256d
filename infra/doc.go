// Package infra holds hookline's typed Pulumi components and the program that
// composes them into one stack per environment:
//
//	Webhook (hookline:infra:Webhook)
//	├── RestApi    – REST API, request validator, gateway responses, access logs
//	├── Source × n – route + SQS integration, FIFO queue + FIFO DLQ, function, mapping
//	├── ApiStage   – Deployment (with route triggers), Stage, throttling, usage plans + keys
//	├── Domain     – ACM certificate, TLS 1.2 regional domain, alias records (optional)
//	└── Monitoring – SNS topic, alarms, dashboard
//
// Naming, policy documents, route specs and the dashboard are pure functions
// beside the resource code, tested without mocks.
package infra
