-- Up Migration
-- Bookings and what hangs off them: the allocation of resource time (the exclusion
-- constraint that makes double booking impossible), the waitlist, payments and GDPR
-- erasure requests. Writes to bookings and allocations go through the SECURITY
-- DEFINER functions of sql/schema/30-booking-api; the app role cannot write them.

CREATE TABLE booking.bookings (
  tenant_id       uuid NOT NULL REFERENCES booking.tenants (id) ON DELETE CASCADE,
  id              uuid NOT NULL DEFAULT gen_random_uuid(),
  customer_id     uuid NOT NULL,
  service_id      uuid NOT NULL,
  resource_id     uuid NOT NULL,
  status          text NOT NULL DEFAULT 'confirmed',
  during          tstzrange NOT NULL,
  hold_expires_at timestamptz,
  idempotency_key text,
  price_cents     integer NOT NULL DEFAULT 0,
  currency        text NOT NULL DEFAULT 'EUR',
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  cancelled_at    timestamptz,
  cancel_reason   text,
  starts          timestamptz GENERATED ALWAYS AS (lower(during)) STORED,
  ends            timestamptz GENERATED ALWAYS AS (upper(during)) STORED,
  CONSTRAINT bookings_pkey PRIMARY KEY (tenant_id, id),
  CONSTRAINT bookings_customer_fkey FOREIGN KEY (tenant_id, customer_id)
    REFERENCES booking.customers (tenant_id, id),
  CONSTRAINT bookings_service_fkey FOREIGN KEY (tenant_id, service_id)
    REFERENCES booking.services (tenant_id, id),
  CONSTRAINT bookings_resource_fkey FOREIGN KEY (tenant_id, resource_id)
    REFERENCES booking.resources (tenant_id, id),
  CONSTRAINT bookings_status_check CHECK (status IN ('pending', 'confirmed', 'cancelled', 'completed', 'no_show')),
  CONSTRAINT bookings_during_check CHECK (
    NOT isempty(during) AND lower_inc(during) AND NOT upper_inc(during)
    AND NOT lower_inf(during) AND NOT upper_inf(during)),
  CONSTRAINT bookings_pending_has_hold CHECK (status <> 'pending' OR hold_expires_at IS NOT NULL),
  CONSTRAINT bookings_cancelled_at_check CHECK ((status = 'cancelled') = (cancelled_at IS NOT NULL)),
  CONSTRAINT bookings_idempotency_key_length CHECK (length(idempotency_key) BETWEEN 1 AND 200),
  CONSTRAINT bookings_price_check CHECK (price_cents >= 0),
  CONSTRAINT bookings_currency_check CHECK (currency ~ '^[A-Z]{3}$')
);
-- Unique per tenant; partial, because most bookings have no key and a million NULL
-- entries would only cost space and insert time. book() names it as its arbiter with
-- ON CONFLICT (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL.
CREATE UNIQUE INDEX bookings_idempotency_key ON booking.bookings (tenant_id, idempotency_key)
  WHERE idempotency_key IS NOT NULL;
CREATE INDEX bookings_starts_idx ON booking.bookings (tenant_id, starts);
CREATE INDEX bookings_customer_idx ON booking.bookings (tenant_id, customer_id, starts);
CREATE INDEX bookings_pending_holds_idx ON booking.bookings (tenant_id, hold_expires_at)
  WHERE status = 'pending';

COMMENT ON COLUMN booking.bookings.cancel_reason IS 'pii';

-- The time a booking takes from a resource: the booking widened by the service's
-- buffers. `[)` bounds, so back-to-back allocations fit. Inactive rows (cancelled,
-- expired, moved) stay for history and are ignored by the constraint.
-- starts/ends are plain copies of the range bounds for index conditions under RLS;
-- hold_expires_at mirrors the booking's, so availability needs no join: an active
-- allocation whose hold has passed no longer blocks (book() expires it lazily).
CREATE TABLE booking.booking_allocations (
  tenant_id       uuid NOT NULL REFERENCES booking.tenants (id) ON DELETE CASCADE,
  id              uuid NOT NULL DEFAULT gen_random_uuid(),
  booking_id      uuid NOT NULL,
  resource_id     uuid NOT NULL,
  blocked         tstzrange NOT NULL,
  active          boolean NOT NULL DEFAULT true,
  hold_expires_at timestamptz,
  starts          timestamptz GENERATED ALWAYS AS (lower(blocked)) STORED,
  ends            timestamptz GENERATED ALWAYS AS (upper(blocked)) STORED,
  CONSTRAINT booking_allocations_pkey PRIMARY KEY (tenant_id, id),
  CONSTRAINT booking_allocations_booking_fkey FOREIGN KEY (tenant_id, booking_id)
    REFERENCES booking.bookings (tenant_id, id) ON DELETE CASCADE,
  CONSTRAINT booking_allocations_resource_fkey FOREIGN KEY (tenant_id, resource_id)
    REFERENCES booking.resources (tenant_id, id),
  CONSTRAINT booking_allocations_blocked_check CHECK (
    NOT isempty(blocked) AND lower_inc(blocked) AND NOT upper_inc(blocked)
    AND NOT lower_inf(blocked) AND NOT upper_inf(blocked)),
  CONSTRAINT booking_allocations_no_overlap EXCLUDE USING gist (
    tenant_id WITH =, resource_id WITH =, blocked WITH &&) WHERE (active)
);
-- What availability and the overlap check read: per resource, active allocations
-- by start (a backward probe for the last one before a window, then a range scan).
CREATE INDEX booking_allocations_resource_starts_idx
  ON booking.booking_allocations (tenant_id, resource_id, starts) WHERE active;
CREATE INDEX booking_allocations_booking_idx ON booking.booking_allocations (tenant_id, booking_id);

-- A customer waiting for a slot of a service (optionally on one resource) inside
-- `wanted`. When a booking is cancelled the oldest matching waiting entry is offered
-- the freed time as a pending hold (status offered, offered_booking_id set); it becomes
-- booked when that hold is confirmed, expired when the hold lapses or is cancelled.
CREATE TABLE booking.waitlist_entries (
  tenant_id          uuid NOT NULL REFERENCES booking.tenants (id) ON DELETE CASCADE,
  id                 uuid NOT NULL DEFAULT gen_random_uuid(),
  service_id         uuid NOT NULL,
  customer_id        uuid NOT NULL,
  resource_id        uuid,
  wanted             tstzrange NOT NULL,
  status             text NOT NULL DEFAULT 'waiting',
  offered_booking_id uuid,
  -- clock time, not transaction time: it orders the queue, also within one transaction
  created_at         timestamptz NOT NULL DEFAULT clock_timestamp(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT waitlist_entries_pkey PRIMARY KEY (tenant_id, id),
  CONSTRAINT waitlist_entries_service_fkey FOREIGN KEY (tenant_id, service_id)
    REFERENCES booking.services (tenant_id, id) ON DELETE CASCADE,
  CONSTRAINT waitlist_entries_customer_fkey FOREIGN KEY (tenant_id, customer_id)
    REFERENCES booking.customers (tenant_id, id) ON DELETE CASCADE,
  CONSTRAINT waitlist_entries_resource_fkey FOREIGN KEY (tenant_id, resource_id)
    REFERENCES booking.resources (tenant_id, id) ON DELETE CASCADE,
  CONSTRAINT waitlist_entries_booking_fkey FOREIGN KEY (tenant_id, offered_booking_id)
    REFERENCES booking.bookings (tenant_id, id),
  CONSTRAINT waitlist_entries_status_check CHECK (status IN ('waiting', 'offered', 'booked', 'expired', 'cancelled')),
  CONSTRAINT waitlist_entries_wanted_check CHECK (
    NOT isempty(wanted) AND lower_inc(wanted) AND NOT upper_inc(wanted)
    AND NOT lower_inf(wanted) AND NOT upper_inf(wanted)),
  CONSTRAINT waitlist_entries_offer_check CHECK (status NOT IN ('offered', 'booked') OR offered_booking_id IS NOT NULL)
);
CREATE INDEX waitlist_entries_waiting_idx ON booking.waitlist_entries (tenant_id, created_at)
  WHERE status = 'waiting';
CREATE INDEX waitlist_entries_booking_idx ON booking.waitlist_entries (tenant_id, offered_booking_id)
  WHERE offered_booking_id IS NOT NULL;

CREATE TABLE booking.payments (
  tenant_id    uuid NOT NULL REFERENCES booking.tenants (id) ON DELETE CASCADE,
  id           uuid NOT NULL DEFAULT gen_random_uuid(),
  booking_id   uuid NOT NULL,
  amount_cents integer NOT NULL,
  currency     text NOT NULL DEFAULT 'EUR',
  status       text NOT NULL DEFAULT 'pending',
  provider     text NOT NULL DEFAULT 'manual',
  provider_ref text,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT payments_pkey PRIMARY KEY (tenant_id, id),
  CONSTRAINT payments_provider_ref_key UNIQUE (tenant_id, provider, provider_ref),
  CONSTRAINT payments_booking_fkey FOREIGN KEY (tenant_id, booking_id)
    REFERENCES booking.bookings (tenant_id, id) ON DELETE CASCADE,
  CONSTRAINT payments_status_check CHECK (status IN ('pending', 'succeeded', 'failed', 'refunded')),
  CONSTRAINT payments_amount_check CHECK (amount_cents >= 0),
  CONSTRAINT payments_currency_check CHECK (currency ~ '^[A-Z]{3}$')
);
CREATE INDEX payments_booking_idx ON booking.payments (tenant_id, booking_id);

-- A data subject's request to be forgotten; processing anonymises the customer row
-- (booking.customers.anonymized_at) and records the outcome here.
CREATE TABLE booking.erasure_requests (
  tenant_id    uuid NOT NULL REFERENCES booking.tenants (id) ON DELETE CASCADE,
  id           uuid NOT NULL DEFAULT gen_random_uuid(),
  customer_id  uuid NOT NULL,
  status       text NOT NULL DEFAULT 'pending',
  requested_at timestamptz NOT NULL DEFAULT now(),
  processed_at timestamptz,
  note         text,
  CONSTRAINT erasure_requests_pkey PRIMARY KEY (tenant_id, id),
  CONSTRAINT erasure_requests_customer_fkey FOREIGN KEY (tenant_id, customer_id)
    REFERENCES booking.customers (tenant_id, id) ON DELETE CASCADE,
  CONSTRAINT erasure_requests_status_check CHECK (status IN ('pending', 'done', 'rejected')),
  CONSTRAINT erasure_requests_processed_check CHECK ((status = 'pending') = (processed_at IS NULL))
);
CREATE INDEX erasure_requests_customer_idx ON booking.erasure_requests (tenant_id, customer_id);
CREATE INDEX erasure_requests_pending_idx ON booking.erasure_requests (tenant_id, requested_at)
  WHERE status = 'pending';

COMMENT ON COLUMN booking.erasure_requests.note IS 'pii';

ALTER TABLE booking.bookings ENABLE ROW LEVEL SECURITY;
ALTER TABLE booking.bookings FORCE ROW LEVEL SECURITY;
ALTER TABLE booking.booking_allocations ENABLE ROW LEVEL SECURITY;
ALTER TABLE booking.booking_allocations FORCE ROW LEVEL SECURITY;
ALTER TABLE booking.waitlist_entries ENABLE ROW LEVEL SECURITY;
ALTER TABLE booking.waitlist_entries FORCE ROW LEVEL SECURITY;
ALTER TABLE booking.payments ENABLE ROW LEVEL SECURITY;
ALTER TABLE booking.payments FORCE ROW LEVEL SECURITY;
ALTER TABLE booking.erasure_requests ENABLE ROW LEVEL SECURITY;
ALTER TABLE booking.erasure_requests FORCE ROW LEVEL SECURITY;

-- Down Migration
DROP TABLE booking.erasure_requests CASCADE;
DROP TABLE booking.payments CASCADE;
DROP TABLE booking.waitlist_entries CASCADE;
DROP TABLE booking.booking_allocations CASCADE;
DROP TABLE booking.bookings CASCADE;
