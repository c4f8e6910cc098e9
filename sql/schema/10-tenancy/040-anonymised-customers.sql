-- An anonymised customer stays anonymised. The app may edit a customer's contact
-- details (UPDATE (email, full_name, phone), 90-grants), but once maintain's retention
-- or an erasure request has overwritten them (anonymized_at set), writing a name or an
-- address back would undo the erasure. This restrictive policy hides anonymised rows
-- from the app's UPDATEs: an UPDATE of one changes nothing ("UPDATE 0").
-- Only for bookingdb_app (and its logins): retention runs as the schema owner and must
-- still set anonymized_at, and clear a pii column added after a customer was
-- anonymised. A policy rather than a trigger: Citus distributes booking.customers by
-- tenant_id, and triggers on distributed tables are off there (citus-invariants).
DROP POLICY IF EXISTS keep_anonymised ON booking.customers;
CREATE POLICY keep_anonymised ON booking.customers
  AS RESTRICTIVE
  FOR UPDATE
  TO bookingdb_app
  USING (anonymized_at IS NULL);
