/** Consumer group names on the outbox streams: the Postgres writer and the board projection. */
export const GROUPS = { postgres: 'flusher', boards: 'boards' } as const;
