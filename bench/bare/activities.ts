/** The baseline's one activity: does nothing. */

/** Activities of the bare workflow. */
export interface BareActivities {
  /** Returns at once. */
  noop(): Promise<void>;
}

/** Creates the bare activities. */
export function createBareActivities(): BareActivities {
  return {
    noop() {
      return Promise.resolve();
    },
  };
}
