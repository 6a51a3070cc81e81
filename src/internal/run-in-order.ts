/** Runs tasks one after another, each awaited, including those added while earlier ones run. */
export async function runInOrder(tasks: (() => void | Promise<void>)[]): Promise<void> {
  for (let task = tasks.shift(); task !== undefined; task = tasks.shift()) {
    try {
      await task();
    } catch {
      // Tasks report their own failures; one that throws anyway must not stop the others.
    }
  }
}
