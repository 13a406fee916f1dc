/**
 * The tag of everything cached about one user: a write to the user's reconciliation events,
 * equity or positions bumps it, so every cached view of that user is invalid at once.
 */
export function userTag(userId: string): string {
  return `user/${userId}`;
}
