import { describe, expect, it } from 'vitest';
import { isPgUnavailable } from './errors';

describe('isPgUnavailable', () => {
  it('reads a database that refuses connections, is gone or refuses the login as unavailable', () => {
    for (const code of ['55000', '3D000', '28000', '28P01', '08006', '53300', '57P01', '57014']) {
      expect(isPgUnavailable({ code, message: 'x' }), code).toBe(true);
    }
  });

  it('leaves errors about the data itself to the caller', () => {
    for (const code of ['22003', '23505', '42P01', '22P02']) expect(isPgUnavailable({ code, message: 'x' }), code).toBe(false);
  });
});
