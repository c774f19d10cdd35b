/**
 * Learning days: the calendar day, in the learner's time zone, on which an activity happened.
 * Pure: instants come in as ms since epoch; nothing here reads the clock.
 */

// Building an Intl.DateTimeFormat is costly (it loads the zone's rules); one per zone is enough.
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      calendar: 'gregory',
      numberingSystem: 'latn',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/**
 * The learning day of `occurredAt` (ms since epoch) in the IANA zone `timeZone`, as
 * 'YYYY-MM-DD': the calendar day a wall clock in that zone showed at that instant. The zone's
 * rules (offsets, DST) come from `Intl.DateTimeFormat`, never from offset arithmetic. Pure.
 * @throws RangeError (an Error) when `timeZone` is not a zone the runtime knows; callers
 *   validate zones before they get here.
 */
export function learningDay(occurredAt: number, timeZone = 'UTC'): string {
  let year = '';
  let month = '';
  let day = '';
  for (const part of formatterFor(timeZone).formatToParts(occurredAt)) {
    if (part.type === 'year') year = part.value;
    else if (part.type === 'month') month = part.value;
    else if (part.type === 'day') day = part.value;
  }
  return `${year.padStart(4, '0')}-${month}-${day}`;
}

const DAY_PATTERN = /^(\d{4})-(\d{2})-(\d{2})$/;

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** True when `s` is exactly 'YYYY-MM-DD' and names a real Gregorian date (leap years included). Pure. */
export function isValidDay(s: string): boolean {
  const m = DAY_PATTERN.exec(s);
  if (!m) return false;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  return month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month);
}
