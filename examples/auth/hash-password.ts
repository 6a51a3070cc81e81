// Prints a password's hash for users.json: `npx tsx examples/auth/hash-password.ts`, then type the password. It is
// read from standard input (`echo secret | npx tsx ...` works too) so that it stays out of the shell's history.
import { once } from "node:events";
import { createInterface } from "node:readline/promises";
import { hashPassword } from "./passwords.ts";

const prompt = createInterface({ input: process.stdin, output: process.stderr, terminal: false });
// Empty input closes the interface without answering the question.
const closed = once(prompt, "close").then(() => "");
const password = await Promise.race([prompt.question(process.stdin.isTTY ? "Password: " : ""), closed]);
prompt.close();
if (password === "") {
  process.stderr.write("hash-password: no password given\n");
  process.exitCode = 1;
} else {
  process.stdout.write(`${await hashPassword(password)}\n`);
}
