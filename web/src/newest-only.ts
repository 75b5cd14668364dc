/**
 * Hands on only the newest answer of overlapping requests for one thing: an answer to a request made before the last one applied is
 * dropped. (A background poll sent just before an unload can answer after the page's own look-up that followed it, and would show the
 * model loaded again.)
 */
export const newestOnly = <T>(apply: (value: T) => void) => {
  let sent = 0;
  let applied = 0;
  return async (ask: () => Promise<T>): Promise<void> => {
    const mine = ++sent;
    let value: T;
    try {
      value = await ask();
    } catch (error) {
      if (mine < applied) return; // a newer answer is already shown: an older failure says nothing about now
      throw error;
    }
    if (mine < applied) return;
    applied = mine;
    apply(value);
  };
};
