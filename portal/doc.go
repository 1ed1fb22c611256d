// Package portal is hookline's self-service portal: teams describe their
// sources, see the offline plan with policies and cost, preview through the
// real engine with the policy pack, apply, and get their endpoint; they set
// their sources' secrets, read and redrive their DLQs. Each team's
// environment is one stack (<team>-<env>), driven by engine/.
//
// The package is the portal's HTTP side and its stack reads:
//   - server.go: Options, New, the routes, the limits and timeouts;
//     errors.go: the one place an error becomes an HTTP status;
//   - auth.go, session.go: bearer tokens for the API, sessions for the pages;
//     sso.go: the pages' sign-in at a load balancer (portal/albauth verifies
//     its header) and the groups-to-teams config; principal.go: who a
//     request comes from, on its context;
//   - request.go: a team's request, parsed and validated into stack config;
//   - api.go: the JSON API's handlers, which parse, call and render;
//     pages.go, stackpage.go, templates/: the HTML pages, which call the
//     same functions and use cases as the API (never the API's handlers);
//     events.go: a job's progress as Server-Sent Events;
//   - stacks.go, dlq.go, secrets.go, validate.go, cards.go: what the pages
//     and the API read and change without a job (the overview, a stack and
//     its outputs, a DLQ, a secret, the offline check, the sources' cards).
//
// The long operations (preview, apply, destroy, redrive) are the jobs
// service in portal/jobs: one use case each, a Store for their records,
// leases and limits, and typed errors.
package portal
