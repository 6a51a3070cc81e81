// The seed's greetings API: a read-only list of greetings by language, loaded from a file.
import { readFileSync } from "node:fs";
import { App, HTTPException } from "briskjs";
import { z } from "zod";

// A Map, so that /greetings/constructor finds nothing rather than one of Object's own properties.
const greetings = new Map<string, string>(
  Object.entries(JSON.parse(readFileSync(new URL("./greetings.json", import.meta.url), "utf8"))),
);

const Greeting = z.object({ lang: z.string(), text: z.string() }).meta({ id: "Greeting" });

export const app: App = new App({ title: "Greetings" });

app.get("/greetings", { response: z.array(Greeting) }, () =>
  [...greetings].sort(([a], [b]) => (a < b ? -1 : 1)).map(([lang, text]) => ({ lang, text })),
);

app.get("/greetings/{lang}", { response: Greeting }, ({ params }) => {
  const text = greetings.get(params.lang);
  // The seed answers an unknown language with a null text; a 404 says what happened.
  if (text === undefined) throw new HTTPException(404, `No greeting for '${params.lang}'`);
  return { lang: params.lang, text };
});
