// The bytes a transfer's action token signs, built the same way in the page and on the server:
// the token's digest covers exactly this string, so changing the payee or the amount breaks it.
export const TRANSFER_ACTION = "transfer";

export function transferData(to: string, amount: number): string {
  return JSON.stringify({ to, amount });
}
