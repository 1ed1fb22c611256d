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
//     source name when the selected value is missing; a value SQS would refuse
//     is URL-encoded into SQS's alphabet and cut to 128 characters (GroupID).
//   - MessageDeduplicationId is the sender's event id when the source names one,
//     the request carries it and SQS accepts it; otherwise the queue's
//     content-based deduplication applies (DeduplicationID). The event id
//     travels in AttrEventID either way.
//   - A message is at most MaxMessageBytes, body and attributes together.
//   - Every re-send (the handler's DLQ move, redrive) is a Resend: body,
//     group and attributes kept, an earlier failure reason left behind, a
//     deduplication id of its own (ResendDeduplicationID), never the
//     sender's, which SQS's window may still hold.
//   - At most MaxMessageAttributes message attributes: the metadata in
//     BaseAttributes plus the event id and the scheme's signature headers.
//
// It also holds the one table of signature schemes (scheme.go): per scheme,
// the headers it signs and the template forwards, where its senders put
// their event id, and its implementation (signing.go), Sign beside Verify,
// which hookline's tools sign with and the handler verifies with.
package contract
