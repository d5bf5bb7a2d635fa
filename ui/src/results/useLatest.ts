// Answers to a view's requests are taken only from the latest request, and only while the view
// is shown: an older answer arriving late never overwrites a newer one.

import { useEffect, useMemo, useRef } from "react";

/** What a view asks before it takes an answer. */
export interface Latest {
  /** Numbers a new request. */
  next: () => number;
  /** Whether the answer to request `ticket` may still be taken. */
  isLatest: (ticket: number) => boolean;
  /** Whether the view is still shown (for answers that are not numbered). */
  isShown: () => boolean;
}

/** One `Latest` for the life of the view (the same object on every render). */
export function useLatest(): Latest {
  const request = useRef(0);
  const mounted = useRef(true);
  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
    };
  }, []);
  return useMemo(
    () => ({
      next: () => ++request.current,
      isLatest: (ticket: number) => mounted.current && ticket === request.current,
      isShown: () => mounted.current,
    }),
    [],
  );
}
