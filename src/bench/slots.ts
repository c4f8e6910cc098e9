/**
 * The SQL that lists a service's slots over working hours, written once and used
 * twice: with no busy table it is the bench's grid (every slot a user could pick,
 * taken or not: booking one of those is a "random slot"); with a busy table it is the
 * anchor's naive availability, one generate_series row per slot and one overlap probe
 * per slot. Same rules as booking.available_slots: working blocks per local day built
 * as (day + local time) AT TIME ZONE tz, slots every slot_step (default: the duration)
 * from block start + buffer_before, buffers inside the block, no time off, not before
 * now(). `p` names the SQL expressions of the five arguments ($1.. or parameter names).
 */
export interface SlotQueryArgs {
  tenant: string;
  service: string;
  from: string;
  to: string;
  resources: string;
}

export function slotQuery(p: SlotQueryArgs, busyTable?: string): string {
  const busy = busyTable
    ? `
   AND NOT EXISTS (SELECT 1 FROM ${busyTable} a
                    WHERE a.tenant_id = r.tenant_id AND a.resource_id = r.id AND a.active
                      AND (a.hold_expires_at IS NULL OR a.hold_expires_at > pg_catalog.now())
                      AND a.blocked && pg_catalog.tstzrange(g.st - sv.buffer_before, g.st + sv.duration + sv.buffer_after))`
    : '';
  return `
SELECT r.id AS resource_id, g.st AS starts_at, g.st + sv.duration AS ends_at
  FROM booking.services sv
  JOIN booking.service_resources sr ON sr.tenant_id = sv.tenant_id AND sr.service_id = sv.id
  JOIN booking.resources r ON r.tenant_id = sr.tenant_id AND r.id = sr.resource_id AND r.active
  JOIN booking.locations l ON l.tenant_id = r.tenant_id AND l.id = r.location_id
  CROSS JOIN LATERAL pg_catalog.generate_series(((${p.from}) AT TIME ZONE l.timezone)::date::timestamp,
                                                ((${p.to}) AT TIME ZONE l.timezone)::date::timestamp,
                                                interval '1 day') AS d(day)
  JOIN booking.working_hours wh ON wh.tenant_id = r.tenant_id AND wh.resource_id = r.id
   AND wh.weekday = EXTRACT(isodow FROM d.day)::smallint
  CROSS JOIN LATERAL pg_catalog.generate_series(((d.day::date + wh.starts_local) AT TIME ZONE l.timezone) + sv.buffer_before,
                                                ((d.day::date + wh.ends_local) AT TIME ZONE l.timezone) - sv.duration - sv.buffer_after,
                                                coalesce(sv.slot_step, sv.duration)) AS g(st)
 WHERE sv.tenant_id = ${p.tenant} AND sv.id = ${p.service} AND sv.active
   AND (${p.resources} IS NULL OR r.id = ANY (${p.resources}))
   AND g.st >= GREATEST(${p.from}, pg_catalog.now()) AND g.st < ${p.to}
   AND NOT EXISTS (SELECT 1 FROM booking.time_off t
                    WHERE t.tenant_id = r.tenant_id AND t.resource_id = r.id
                      AND t.ends > g.st - sv.buffer_before AND t.starts < g.st + sv.duration + sv.buffer_after)${busy}
 ORDER BY g.st, r.id`;
}

/** A slot the bench may book: resource and start (ms since epoch). */
export interface Slot {
  resourceId: string;
  startMs: number;
}

const key = (s: Slot) => `${s.resourceId}|${s.startMs}`;

/**
 * The free slots one system (procedures or anchor) is known to have: filled from
 * available_slots at the start, drained by successful bookings, refilled by cancels and
 * reschedules. O(1) random take and removal (swap with the last).
 */
export class SlotPool {
  private slots: Slot[] = [];
  private index = new Map<string, number>();

  constructor(initial: Slot[] = []) {
    for (const s of initial) this.add(s);
  }

  get size(): number {
    return this.slots.length;
  }

  add(s: Slot): void {
    if (this.index.has(key(s))) return;
    this.index.set(key(s), this.slots.length);
    this.slots.push(s);
  }

  remove(s: Slot): void {
    const i = this.index.get(key(s));
    if (i === undefined) return;
    const last = this.slots.pop() as Slot;
    this.index.delete(key(s));
    if (i < this.slots.length) {
      this.slots[i] = last;
      this.index.set(key(last), i);
    }
  }

  /** A random slot starting after minStartMs (slots found in the past are dropped). */
  take(minStartMs: number, random: () => number = Math.random): Slot | undefined {
    while (this.slots.length > 0) {
      const s = this.slots[Math.floor(random() * this.slots.length)];
      this.remove(s);
      if (s.startMs > minStartMs) return s;
    }
    return undefined;
  }
}
