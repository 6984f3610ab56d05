/** The most arrivals any window of `ms` (wherever it starts) holds. */
export function busiestWindow(times: number[], ms = 1000): number {
  const t = [...times].sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; i < t.length; i++) {
    while (t[i]! - t[j]! >= ms) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
}
