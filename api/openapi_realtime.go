package api

import (
	"net/http"

	"loam/openapi"
)

// realtime adds GET /api/realtime and POST /api/realtime/ticket.
func (b *docBuilder) realtime() {
	d := b.doc
	d.Tags = append(d.Tags, openapi.Tag{Name: "realtime", Description: "Record events as Server-Sent Events."})
	tags := []string{"realtime"}
	params := []*openapi.Parameter{
		{Name: "subscribe", In: "query", Required: true, Schema: stringSchema(),
			Description: "Comma-separated subscriptions: a collection (every record the view rule shows) or collection/id (one record)."},
		{Name: "ticket", In: "query", Schema: stringSchema(),
			Description: "A ticket from POST /api/realtime/ticket, for clients that cannot send Authorization (EventSource). Works once, for a minute."},
		{Name: "lastEventId", In: "query", Schema: &openapi.Schema{Type: openapi.Types{"string"}, Pattern: "^[0-9]+$"},
			Description: "As the Last-Event-ID header, for clients that cannot send it."},
		{Name: "Last-Event-ID", In: "header", Schema: &openapi.Schema{Type: openapi.Types{"string"}, Pattern: "^[0-9]+$"},
			Description: "The id of the last event received: the events after it that the log still keeps come first; " +
				"when it keeps none that old, a reset event says to read afresh."},
	}
	for _, c := range b.schema.Collections() {
		if !b.superuser && c.Rules.View == nil {
			continue // superusers only: others cannot subscribe to it
		}
		params = append(params, &openapi.Parameter{Name: "filter." + c.Name, In: "query", Schema: stringSchema(),
			Description: "A filter on the events of " + c.Name + " (the filter language of lists), on top of its view rule."})
	}
	b.op(realtimePath, "GET", &openapi.Operation{OperationID: "realtime.stream", Summary: "Stream record events",
		Description: "A text/event-stream. Events: `ready` (subscribed), `record` with `id: <seq>` and data " +
			"`{\"action\":\"create|update|delete\",\"collection\":...,\"record\":{...}}` (a delete carries the record as it was), " +
			"`reset` (the log no longer reaches back to Last-Event-ID), and `error` with data `{\"code\",\"message\"}` " +
			"just before the server ends the stream (codes: slow_consumer, unauthenticated, shutting_down, ...). " +
			"Comments (`: heartbeat`) keep idle streams open; the caller's session is checked with each one. " +
			"Each record passes the collection's view rule for the caller and the subscription's filter, and is shown " +
			"as a read of it would be (hidden fields and withheld emails left out).",
		Tags: tags, Parameters: params,
		Responses: b.responses(map[string]*openapi.Response{
			"200": {Description: "The stream.", Headers: map[string]*openapi.Header{
				"Cache-Control": {Required: true, Schema: &openapi.Schema{Const: "no-store"}}},
				Content: map[string]*openapi.MediaType{"text/event-stream": {Schema: stringSchema()}}},
		}, http.StatusBadRequest, http.StatusForbidden, http.StatusNotFound, http.StatusServiceUnavailable)})
	d.Components.Schemas["RealtimeTicket"] = object([]string{"ticket", "expiresIn"},
		prop("ticket", stringSchema()),
		prop("expiresIn", describe(&openapi.Schema{Type: openapi.Types{"integer"}}, "Seconds the ticket stays valid.")))
	b.op(realtimeTicketPath, "POST", &openapi.Operation{OperationID: "realtime.ticket", Summary: "Get a realtime ticket",
		Description: "A single-use ticket that opens one stream as the caller, within a minute: pass it as ticket=. " +
			"Any instance accepts it (only its hash is stored, in the database). Needs a signed-in session.",
		Tags: tags, Security: bearerOnly,
		Responses: b.responses(map[string]*openapi.Response{"201": okJSON("The ticket.", openapi.Ref("RealtimeTicket"))})})
}

// bearerOnly is the security of routes that need a session token (any
// signed-in record).
var bearerOnly = []openapi.SecurityRequirement{{bearerScheme: {}}}
