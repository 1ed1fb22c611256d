// Package infra holds hookline's typed Pulumi components and the program that
// composes them into one stack per environment:
//
//	Webhook (hookline:infra:Webhook)
//	├── RestApi | HttpApi  – the Ingress: the API, its access log group (REST: request
//	│                        validator, gateway responses, the region's account settings)
//	├── EdgeAuthorizer     – with token sources: function, role, log group, tokens, and
//	│                        the ingress's authorizers of it
//	├── ArchiveStore       – with hookline:archive on (the default): KMS key and alias,
//	│                        the archive bucket and the query results bucket (SSE-KMS,
//	│                        public access blocked, ACLs off, TLS only, lifecycle), Glue
//	│                        database and table (partition projection), Athena workgroup
//	├── ArchiveStream × n  – per source: the Firehose role, its policy and the stream
//	├── Source × n         – the send role and the route the ingress adds (REST: resource,
//	│   │                    method, SQS integration, responses; HTTP: integration, route)
//	│   ├── SourceQueues   – FIFO queue, FIFO DLQ, redrive allow policy, TLS-only policies
//	│   └── Consumer       – log group, role, policies, secrets, function, event source
//	│                        mapping, idempotency table
//	├── ApiStage | HttpStage – the ingress's deployment (route triggers) and throttled stage
//	│                        (REST: method settings, usage plans and keys)
//	├── Domain             – ACM certificate, the ingress's TLS 1.2 domain name and
//	│                        mapping, A + AAAA alias records (optional)
//	└── Monitoring         – SNS topic, alarms, dashboard
//
// The REST and the HTTP API are one Ingress interface with two
// implementations (restapi.go with stage.go, httpapi.go), picked once from
// the config (ingress.go); no other component asks which one a stack has.
//
// Every name, ARN and size the components build from is derived once from
// the stack config and the deploying account in a pure spec (spec.go:
// StackSpec, one SourceSpec per source); each component's Args hold only
// their part of it, plus the Pulumi inputs that come from other resources,
// and are checked before anything is registered. Policy documents, route
// specs, alarms and the dashboard are pure functions beside the resource
// code, tested without mocks.
//
// Resources that moved into SourceQueues and Consumer carry aliases to the
// Source, their parent before, so deployed stacks keep them (their URNs are
// checked against testdata/urns-*.txt).
package infra
