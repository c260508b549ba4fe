/** One request shared by panels that show different parts of the same answer (overview + audience). */

const pending = new Map<string, Promise<unknown>>();

export function shared<T>(key: string, load: () => Promise<T>): Promise<T> {
  let promise = pending.get(key) as Promise<T> | undefined;
  if (!promise) {
    promise = load();
    pending.set(key, promise);
    promise.catch(() => pending.delete(key));
  }
  return promise;
}

/** Forget shared answers: the next refresh asks again. */
export function clearShared(): void {
  pending.clear();
}
