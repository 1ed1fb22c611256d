// Package contract is hookline's ingest contract: the one description of how a
// webhook request becomes an SQS FIFO message and how the handler reads it back.
//
// The infra code renders API Gateway mapping templates from it (RequestTemplate,
// IntegrationResponses, GatewayResponses) and the handler decodes SQS records
// with it (Decode, ParseHandlerConfig), so the two sides cannot drift apart.
//
// The rules it encodes (the README's "The ingest contract"):
//   - MessageBody is the exact raw request body, URL-encoded into the form body
//     of an SQS SendMessage call and never re-serialised.
//   - MessageGroupId follows the source's groupBy selector and falls back to the
//     source name when the selected value is missing.
//   - MessageDeduplicationId is the sender's event id when the source names one
//     and the request carries it; otherwise the queue's content-based
//     deduplication applies.
//   - At most MaxMessageAttributes message attributes: the metadata in
//     BaseAttributes plus the event id and the scheme's signature headers.
package contract
