-- The W3C trace context (`traceparent`) of the input a delivery came from, written at commit:
-- each later attempt, in whichever worker or instance, is a span of that same trace. NULL when
-- the hub exports no traces, and for deliveries committed before this column existed.
ALTER TABLE deliveries ADD COLUMN traceparent TEXT;
