package httpcacheotel

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/seedcache/httpcache"
)

// annotate sets e's attributes on the request's span, if it is recording,
// and records a lookup span if Options.LookupSpans asks for one.
func (o *Observer) annotate(ctx context.Context, e httpcache.Event) {
	span := trace.SpanFromContext(ctx)
	recording := span.IsRecording()
	if !recording && (o.tracer == nil || e.Key == "") {
		return // nothing to build attributes for: the common case costs nothing
	}
	attrs := spanAttributes(e)
	if recording {
		span.SetAttributes(attrs...)
		if e.StoreError != nil {
			// An event, not the span's status: the request was served.
			span.AddEvent(StoreErrorEvent, trace.WithAttributes(
				ErrorTypeKey.String(errorType(e.StoreError)),
				ErrorMessageKey.String(e.StoreError.Error()),
			))
		}
	}
	if o.tracer != nil && e.Key != "" {
		// The event comes when the response has been written: the request
		// began Duration ago, and its lookup first.
		start := time.Now().Add(-e.Duration)
		_, ls := o.tracer.Start(ctx, "httpcache.lookup",
			trace.WithTimestamp(start),
			trace.WithSpanKind(trace.SpanKindInternal),
			trace.WithAttributes(attrs...))
		if e.StoreError != nil {
			ls.RecordError(e.StoreError)
			ls.SetStatus(codes.Error, "store failed")
		}
		ls.End(trace.WithTimestamp(start.Add(e.Lookup)))
	}
}

// spanAttributes returns e as span attributes.
func spanAttributes(e httpcache.Event) []attribute.KeyValue {
	kv := make([]attribute.KeyValue, 0, 8)
	kv = append(kv, OutcomeKey.String(e.Outcome), StoredKey.Bool(e.Stored))
	if e.Detail != "" {
		kv = append(kv, DetailKey.String(e.Detail))
	}
	if e.Key != "" {
		kv = append(kv, KeyKey.String(e.Key), LookupDurationKey.Float64(e.Lookup.Seconds()))
	}
	if e.Size > 0 {
		kv = append(kv, SizeKey.Int(e.Size))
	}
	switch e.Outcome {
	case httpcache.OutcomeHit, httpcache.OutcomeStale, httpcache.OutcomeRevalidated:
		kv = append(kv, AgeKey.Float64(e.Age.Seconds()))
	}
	if len(e.Tags) > 0 {
		kv = append(kv, TagsKey.StringSlice(e.Tags))
	}
	return kv
}
